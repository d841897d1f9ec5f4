package partition

import (
	"context"
	"fmt"
)

// The DR catalog reconcile lists the replica bucket and registers whatever
// partitions the backup region's catalog lacks.
func ExampleRegistrar_RegisterKeys() {
	_, catalog, err := newSimCatalog() // in the cloud: a *glue.Client for the region
	if err != nil {
		panic(err)
	}
	raw, _ := Table{Name: "raw", Bucket: "pendulum-raw", Layout: LayoutHive}.Normalize()
	r := NewRegistrar(catalog, "pendulum", DefaultCacheSize)
	listed := []string{ // keys as ListObjectsV2 returns them
		"dt=2024-03-05/hr=07/part-0000.json.gz",
		"dt=2024-03-05/hr=07/part-0001.json.gz",
		"dt=2024-03-05/hr=08/part-0000.json.gz",
		"dt=2024-03-05/hr=08/_SUCCESS",
	}
	st, err := r.RegisterKeys(context.Background(), raw, listed)
	fmt.Printf("%+v %v\n", st, err)
	fmt.Println(catalog.PartitionCount("pendulum", "raw"))
	// Output:
	// {Distinct:2 Cached:0 Created:2 Existed:0 Failed:0 Calls:2} <nil>
	// 2
}
