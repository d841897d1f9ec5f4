// Package partition registers the hour partitions of the raw and curated
// tables in the Glue Data Catalog as objects land in S3.
//
// S3 announces each new object (an SQS message carrying an S3 notification, a
// direct S3 event, or an EventBridge "Object Created" event). ParseKey turns
// the object key into the hour partition it belongs to, and a Registrar
// creates the partitions the catalog does not have yet with as few Glue calls
// as it can: the table's StorageDescriptor is fetched once per table per
// container, partitions this container already registered are remembered in a
// bounded cache, and new ones go to BatchCreatePartition 100 at a time.
//
// Two key layouts are understood, both giving the partition values [dt, hr]:
//
//	hive      <prefix>dt=YYYY-MM-DD/hr=HH/<file>   (our Firehose prefix)
//	firehose  <prefix>YYYY/MM/DD/HH/<file>         (Firehose's default prefix)
//
// The partition's location is the folder the object sits in,
// s3://<bucket>/<prefix>dt=…/hr=…/ (or …/YYYY/MM/DD/HH/), built from the
// table's configuration so it never contains "//".
//
// The same parsing and registration serve the DR catalog reconcile, which
// lists a bucket and hands the keys to Registrar.RegisterKeys; Missing tells
// a drill which partitions a catalog lacks without changing it.
package partition

import (
	"errors"
	"fmt"
	"strings"
)

// Layout is how a table's object keys encode the hour partition.
type Layout string

// The supported layouts.
const (
	// LayoutHive is dt=YYYY-MM-DD/hr=HH/ under the table's prefix.
	LayoutHive Layout = "hive"
	// LayoutFirehose is Firehose's default YYYY/MM/DD/HH/ under the prefix.
	LayoutFirehose Layout = "firehose"
)

// Errors a key can be rejected with.
var (
	// ErrBadKey reports a data key under a table's prefix that does not
	// follow the table's layout: retrying cannot fix it, an operator must.
	ErrBadKey = errors.New("key does not follow the table layout")
	// ErrOutsideTable reports a key that is not under the table's prefix.
	ErrOutsideTable = errors.New("key is not under the table prefix")
)

// Table is one catalog table fed by one S3 location.
type Table struct {
	// Name is the Glue table name.
	Name string `json:"table"`
	// Bucket is the S3 bucket holding the table's objects.
	Bucket string `json:"bucket"`
	// Prefix is the key prefix of the table's objects, "" for the whole
	// bucket. Normalize gives it a single trailing slash.
	Prefix string `json:"prefix"`
	// Layout is how keys below Prefix encode the hour.
	Layout Layout `json:"layout"`
}

// Normalize validates t and returns it with its prefix in canonical form
// ("" or "a/b/": no leading slash, one trailing slash). A prefix with an empty
// segment ("a//b") is rejected: S3 keys under it really contain "//", and a
// catalog location must not.
func (t Table) Normalize() (Table, error) {
	if t.Name == "" {
		return t, errors.New("table: name is empty")
	}
	if err := checkBucket(t.Bucket); err != nil {
		return t, fmt.Errorf("table %s: %w", t.Name, err)
	}
	switch t.Layout {
	case LayoutHive, LayoutFirehose:
	default:
		return t, fmt.Errorf("table %s: layout %q: want %q or %q", t.Name, t.Layout, LayoutHive, LayoutFirehose)
	}
	p := strings.TrimPrefix(t.Prefix, "/")
	p = strings.TrimSuffix(p, "/")
	if p != "" {
		if strings.Contains(p, "//") {
			return t, fmt.Errorf("table %s: prefix %q has an empty path segment", t.Name, t.Prefix)
		}
		p += "/"
	}
	t.Prefix = p
	return t, nil
}

// checkBucket applies the S3 bucket naming rules that matter for building
// locations: 3–63 characters of lowercase letters, digits, dots and hyphens.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket %q: want 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("bucket %q: invalid character %q", b, c)
		}
	}
	return nil
}

// Location returns the table's root folder, s3://bucket/prefix/. t must be
// normalized.
func (t Table) Location() string {
	return "s3://" + t.Bucket + "/" + t.Prefix
}

// Partition is one hour partition: its Glue values are [DT, HR].
type Partition struct {
	// DT is the day, YYYY-MM-DD.
	DT string
	// HR is the hour of the day, 00–23.
	HR string
}

// String returns "dt=…/hr=…".
func (p Partition) String() string { return "dt=" + p.DT + "/hr=" + p.HR }

// Values returns the Glue partition values, in partition-key order.
func (p Partition) Values() []string { return []string{p.DT, p.HR} }

// PartitionLocation returns the folder of partition p in table t:
// s3://bucket/prefix/dt=…/hr=…/ for the hive layout and
// s3://bucket/prefix/YYYY/MM/DD/HH/ for the firehose layout. t must be
// normalized and p valid (as ParseKey returns it).
func (t Table) PartitionLocation(p Partition) string {
	if t.Layout == LayoutFirehose && len(p.DT) == 10 {
		return t.Location() + p.DT[0:4] + "/" + p.DT[5:7] + "/" + p.DT[8:10] + "/" + p.HR + "/"
	}
	return t.Location() + "dt=" + p.DT + "/hr=" + p.HR + "/"
}

// ParseKey returns the partition of the object key (already URL-decoded) in
// table t, which must be normalized.
//
// ok is false, with a nil error, for keys that are not data: folder markers
// (a trailing "/"), Hadoop "$folder$" markers, and hidden or temporary files
// and folders (a path segment starting with "_" or ".", such as _SUCCESS,
// _temporary/ or .part.crc, or a name ending in .tmp, .temp or ~). A data key
// that does not follow the layout returns an error wrapping ErrBadKey; a key
// outside the prefix, one wrapping ErrOutsideTable.
func ParseKey(t Table, key string) (p Partition, ok bool, err error) {
	if !strings.HasPrefix(key, t.Prefix) {
		return Partition{}, false, fmt.Errorf("key %q: %w %q", key, ErrOutsideTable, t.Prefix)
	}
	rel := key[len(t.Prefix):]
	if !isData(rel) {
		return Partition{}, false, nil
	}
	switch t.Layout {
	case LayoutHive:
		// dt=YYYY-MM-DD/hr=HH/<file>
		const n = len("dt=2006-01-02/hr=15/")
		if len(rel) > n && rel[0:3] == "dt=" && rel[13:17] == "/hr=" && rel[19] == '/' &&
			validDate(rel[3:7], rel[8:10], rel[11:13]) && rel[7] == '-' && rel[10] == '-' && validHour(rel[17:19]) {
			return Partition{DT: rel[3:13], HR: rel[17:19]}, true, nil
		}
		return Partition{}, false, fmt.Errorf("key %q: %w: want %sdt=YYYY-MM-DD/hr=HH/<file>", key, ErrBadKey, t.Prefix)
	case LayoutFirehose:
		// YYYY/MM/DD/HH/<file>
		const n = len("2006/01/02/15/")
		if len(rel) > n && rel[4] == '/' && rel[7] == '/' && rel[10] == '/' && rel[13] == '/' &&
			validDate(rel[0:4], rel[5:7], rel[8:10]) && validHour(rel[11:13]) {
			return Partition{DT: rel[0:4] + "-" + rel[5:7] + "-" + rel[8:10], HR: rel[11:13]}, true, nil
		}
		return Partition{}, false, fmt.Errorf("key %q: %w: want %sYYYY/MM/DD/HH/<file>", key, ErrBadKey, t.Prefix)
	}
	return Partition{}, false, fmt.Errorf("key %q: table %s: unknown layout %q", key, t.Name, t.Layout)
}

// isData reports whether rel, a key relative to the table prefix, names a
// data object rather than a marker or a hidden/temporary file. Writers such as
// Spark, Hive and EMR leave these beside the data; Athena ignores them too.
func isData(rel string) bool {
	if rel == "" || rel[len(rel)-1] == '/' || strings.HasSuffix(rel, "$folder$") {
		return false
	}
	for seg := rel; ; {
		if seg != "" && (seg[0] == '_' || seg[0] == '.') {
			return false
		}
		i := strings.IndexByte(seg, '/')
		if i < 0 {
			break
		}
		seg = seg[i+1:]
	}
	return !(strings.HasSuffix(rel, ".tmp") || strings.HasSuffix(rel, ".temp") || rel[len(rel)-1] == '~')
}

// digits returns the decimal value of s, or -1 if s is not all ASCII digits.
func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// validDate reports whether year/month/day (4, 2 and 2 digits) name a real
// calendar day.
func validDate(year, month, day string) bool {
	y, m, d := digits(year), digits(month), digits(day)
	if y < 0 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// validHour reports whether h is two digits 00–23.
func validHour(h string) bool {
	n := digits(h)
	return n >= 0 && n <= 23
}
