package partition

import (
	"errors"
	"strings"
	"testing"
)

func mustTable(t testing.TB, tb Table) Table {
	t.Helper()
	n, err := tb.Normalize()
	if err != nil {
		t.Fatalf("normalize %+v: %v", tb, err)
	}
	return n
}

func TestParseKey(t *testing.T) {
	hive := mustTable(t, Table{Name: "raw", Bucket: "pendulum-raw", Prefix: "raw", Layout: LayoutHive})
	root := mustTable(t, Table{Name: "root", Bucket: "pendulum-raw", Layout: LayoutHive})
	fh := mustTable(t, Table{Name: "legacy", Bucket: "pendulum-raw", Prefix: "/legacy/", Layout: LayoutFirehose})
	tests := []struct {
		name    string
		table   Table
		key     string
		want    Partition
		wantOK  bool
		wantErr error
		wantLoc string
	}{
		{name: "Hive", table: hive, key: "raw/dt=2024-03-05/hr=07/part-0.json.gz", want: Partition{"2024-03-05", "07"}, wantOK: true, wantLoc: "s3://pendulum-raw/raw/dt=2024-03-05/hr=07/"},
		{name: "HiveSpaces", table: hive, key: "raw/dt=2024-03-05/hr=23/a b c.json", want: Partition{"2024-03-05", "23"}, wantOK: true, wantLoc: "s3://pendulum-raw/raw/dt=2024-03-05/hr=23/"},
		{name: "HiveUnicode", table: hive, key: "raw/dt=2024-03-05/hr=00/données-✓.json", want: Partition{"2024-03-05", "00"}, wantOK: true, wantLoc: "s3://pendulum-raw/raw/dt=2024-03-05/hr=00/"},
		{name: "HiveNested", table: hive, key: "raw/dt=2024-03-05/hr=00/sub/part.json", want: Partition{"2024-03-05", "00"}, wantOK: true, wantLoc: "s3://pendulum-raw/raw/dt=2024-03-05/hr=00/"},
		{name: "HiveLeapDay", table: hive, key: "raw/dt=2024-02-29/hr=12/x", want: Partition{"2024-02-29", "12"}, wantOK: true, wantLoc: "s3://pendulum-raw/raw/dt=2024-02-29/hr=12/"},
		{name: "RootPrefix", table: root, key: "dt=2024-03-05/hr=07/x", want: Partition{"2024-03-05", "07"}, wantOK: true, wantLoc: "s3://pendulum-raw/dt=2024-03-05/hr=07/"},
		{name: "Firehose", table: fh, key: "legacy/2024/03/05/07/stream-1-2024-03-05-07-00-00-abc.gz", want: Partition{"2024-03-05", "07"}, wantOK: true, wantLoc: "s3://pendulum-raw/legacy/2024/03/05/07/"},
		{name: "FolderMarker", table: hive, key: "raw/dt=2024-03-05/hr=07/"},
		{name: "PrefixMarker", table: hive, key: "raw/"},
		{name: "Success", table: hive, key: "raw/dt=2024-03-05/hr=07/_SUCCESS"},
		{name: "Temporary", table: hive, key: "raw/dt=2024-03-05/hr=07/_temporary/0/part-0"},
		{name: "TemporaryAtRoot", table: hive, key: "raw/_temporary/0/part-0"},
		{name: "HiddenFile", table: hive, key: "raw/dt=2024-03-05/hr=07/.part-0.crc"},
		{name: "FolderDollar", table: hive, key: "raw/dt=2024-03-05_$folder$"},
		{name: "TmpSuffix", table: hive, key: "raw/dt=2024-03-05/hr=07/part.tmp"},
		{name: "TempSuffix", table: fh, key: "legacy/2024/03/05/07/part.temp"},
		{name: "TildeSuffix", table: fh, key: "legacy/2024/03/05/07/part~"},
		{name: "BadDay", table: hive, key: "raw/dt=2023-02-29/hr=07/x", wantErr: ErrBadKey},
		{name: "BadMonth", table: hive, key: "raw/dt=2024-13-01/hr=07/x", wantErr: ErrBadKey},
		{name: "BadHour", table: hive, key: "raw/dt=2024-03-05/hr=24/x", wantErr: ErrBadKey},
		{name: "ShortHour", table: hive, key: "raw/dt=2024-03-05/hr=7/x", wantErr: ErrBadKey},
		{name: "NoFile", table: hive, key: "raw/dt=2024-03-05/hr=07", wantErr: ErrBadKey},
		{name: "DoubleSlash", table: hive, key: "raw//dt=2024-03-05/hr=07/x", wantErr: ErrBadKey},
		{name: "NoPartition", table: hive, key: "raw/manifest.json", wantErr: ErrBadKey},
		{name: "HiveKeyInFirehoseTable", table: fh, key: "legacy/dt=2024-03-05/hr=07/x", wantErr: ErrBadKey},
		{name: "FirehoseSigns", table: fh, key: "legacy/+024/03/05/07/x", wantErr: ErrBadKey},
		{name: "Outside", table: hive, key: "curated/dt=2024-03-05/hr=07/x", wantErr: ErrOutsideTable},
		{name: "PrefixWithoutSlash", table: hive, key: "rawdata/dt=2024-03-05/hr=07/x", wantErr: ErrOutsideTable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := ParseKey(tt.table, tt.key)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseKey(%q) error = %v, want %v", tt.key, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.key) {
					t.Fatalf("error %q does not name the key", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKey(%q): %v", tt.key, err)
			}
			if got, want := ok, tt.wantOK; got != want {
				t.Fatalf("ParseKey(%q) ok = %v, want %v", tt.key, got, want)
			}
			if got, want := got, tt.want; got != want {
				t.Fatalf("ParseKey(%q) = %+v, want %+v", tt.key, got, want)
			}
			if ok {
				if got, want := tt.table.PartitionLocation(got), tt.wantLoc; got != want {
					t.Fatalf("location = %q, want %q", got, want)
				}
				// The object really is in the partition's folder.
				if loc := tt.table.PartitionLocation(got); !strings.HasPrefix("s3://"+tt.table.Bucket+"/"+tt.key, loc) {
					t.Fatalf("object %q is not under location %q", tt.key, loc)
				}
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name       string
		in         Table
		wantPrefix string
		wantErr    string
	}{
		{name: "Empty", in: Table{Name: "t", Bucket: "abc", Layout: LayoutHive}, wantPrefix: ""},
		{name: "Slashes", in: Table{Name: "t", Bucket: "abc", Prefix: "/a/b/", Layout: LayoutHive}, wantPrefix: "a/b/"},
		{name: "NoTrailing", in: Table{Name: "t", Bucket: "abc", Prefix: "a", Layout: LayoutFirehose}, wantPrefix: "a/"},
		{name: "OnlySlash", in: Table{Name: "t", Bucket: "abc", Prefix: "/", Layout: LayoutHive}, wantPrefix: ""},
		{name: "EmptySegment", in: Table{Name: "t", Bucket: "abc", Prefix: "a//b", Layout: LayoutHive}, wantErr: "empty path segment"},
		{name: "NoName", in: Table{Bucket: "abc", Layout: LayoutHive}, wantErr: "name is empty"},
		{name: "BadBucket", in: Table{Name: "t", Bucket: "My_Bucket", Layout: LayoutHive}, wantErr: "invalid character"},
		{name: "ShortBucket", in: Table{Name: "t", Bucket: "ab", Layout: LayoutHive}, wantErr: "3 to 63"},
		{name: "BadLayout", in: Table{Name: "t", Bucket: "abc", Layout: "daily"}, wantErr: "layout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Normalize()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Normalize() error = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(): %v", err)
			}
			if got, want := got.Prefix, tt.wantPrefix; got != want {
				t.Fatalf("prefix = %q, want %q", got, want)
			}
			if loc := got.Location(); strings.Contains(strings.TrimPrefix(loc, "s3://"), "//") {
				t.Fatalf("location %q contains //", loc)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	good := `[{"table":"raw","bucket":"pendulum-raw","prefix":"","layout":"hive"},{"table":"curated","bucket":"pendulum-curated","prefix":"curated","layout":"hive"}]`
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
	}{
		{name: "Valid", env: map[string]string{"GLUE_DATABASE": "pendulum", "AWS_REGION": "us-east-1", "TABLES": good}},
		{name: "Empty", env: map[string]string{}, wantErr: []string{"GLUE_DATABASE", "AWS_REGION", "TABLES"}},
		{name: "BadJSON", env: map[string]string{"GLUE_DATABASE": "d", "AWS_REGION": "r", "TABLES": `{"table":"raw"}`}, wantErr: []string{"TABLES", "JSON array"}},
		{name: "NoTables", env: map[string]string{"GLUE_DATABASE": "d", "AWS_REGION": "r", "TABLES": `[]`}, wantErr: []string{"TABLES", "no table"}},
		{name: "BadLayout", env: map[string]string{"GLUE_DATABASE": "d", "AWS_REGION": "r", "TABLES": `[{"table":"raw","bucket":"pendulum-raw","layout":"yearly"}]`}, wantErr: []string{"TABLES", "entry 0", "layout"}},
		{name: "DuplicateName", env: map[string]string{"GLUE_DATABASE": "d", "AWS_REGION": "r", "TABLES": `[{"table":"raw","bucket":"pendulum-raw","layout":"hive"},{"table":"raw","bucket":"pendulum-other","layout":"hive"}]`}, wantErr: []string{"TABLES", "listed twice"}},
		{name: "DuplicateLocation", env: map[string]string{"GLUE_DATABASE": "d", "AWS_REGION": "r", "TABLES": `[{"table":"a","bucket":"pendulum-raw","prefix":"x/","layout":"hive"},{"table":"b","bucket":"pendulum-raw","prefix":"/x","layout":"hive"}]`}, wantErr: []string{"TABLES", "same location"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ConfigFromEnv: %v", err)
				}
				if got, want := len(c.Tables), 2; got != want {
					t.Fatalf("tables = %d, want %d", got, want)
				}
				if got, want := c.Tables[1].Prefix, "curated/"; got != want {
					t.Fatalf("curated prefix = %q, want %q", got, want)
				}
				if got, want := c.Database, "pendulum"; got != want {
					t.Fatalf("database = %q, want %q", got, want)
				}
				return
			}
			if err == nil {
				t.Fatal("ConfigFromEnv: no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
