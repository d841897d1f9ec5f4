package partition

import (
	"errors"
	"testing"
)

func TestParseObjects(t *testing.T) {
	s3 := func(name, key string) string {
		return `{"Records":[{"eventSource":"aws:s3","eventName":"` + name + `","s3":{"bucket":{"name":"b-1"},"object":{"key":"` + key + `"}}}]}`
	}
	eb := func(detailType, key string) string {
		return `{"detail-type":"` + detailType + `","source":"aws.s3","detail":{"bucket":{"name":"b-1"},"object":{"key":"` + key + `"}}}`
	}
	tests := []struct {
		name    string
		body    string
		want    []Object
		wantErr bool
	}{
		{name: "PlusIsSpace", body: s3("ObjectCreated:Put", "dt%3D2024-01-01/hr%3D00/a+b.json"), want: []Object{{"b-1", "dt=2024-01-01/hr=00/a b.json"}}},
		{name: "EncodedPlus", body: s3("ObjectCreated:Put", "a%2Bb"), want: []Object{{"b-1", "a+b"}}},
		{name: "EncodedSlash", body: s3("ObjectCreated:CompleteMultipartUpload", "raw%2Fdt%3D2024-01-01%2Fx"), want: []Object{{"b-1", "raw/dt=2024-01-01/x"}}},
		{name: "Unicode", body: s3("ObjectCreated:Copy", "%C3%A9t%C3%A9"), want: []Object{{"b-1", "été"}}},
		{name: "Removed", body: s3("ObjectRemoved:Delete", "x"), want: []Object{}},
		{name: "BadEscape", body: s3("ObjectCreated:Put", "a%zz"), wantErr: true},
		{name: "EmptyKey", body: s3("ObjectCreated:Put", ""), wantErr: true},
		{name: "NotS3Record", body: `{"Records":[{"eventSource":"aws:sqs"}]}`, wantErr: true},
		{name: "TestEvent", body: `{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b-1"}`},
		{name: "EventBridge", body: eb("Object Created", "dt=2024-01-01/hr=00/a+b%20c"), want: []Object{{"b-1", "dt=2024-01-01/hr=00/a+b c"}}},
		{name: "EventBridgeDeleted", body: eb("Object Deleted", "x")},
		{name: "EventBridgeOtherSource", body: `{"detail-type":"Object Created","source":"aws.ec2","detail":{}}`, wantErr: true},
		{name: "SNS", body: `{"Type":"Notification","Message":` + quote(s3("ObjectCreated:Put", "k+1")) + `}`, want: []Object{{"b-1", "k 1"}}},
		{name: "NotJSON", body: `not json`, wantErr: true},
		{name: "Unknown", body: `{"hello":"world"}`, wantErr: true},
		{name: "Array", body: `[1,2]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseObjects([]byte(tt.body))
			if tt.wantErr {
				if !errors.Is(err, ErrBadEvent) {
					t.Fatalf("ParseObjects error = %v, want ErrBadEvent", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseObjects: %v", err)
			}
			if got, want := len(got), len(tt.want); got != want {
				t.Fatalf("objects = %d, want %d", got, want)
			}
			for i := range got {
				if got, want := got[i], tt.want[i]; got != want {
					t.Fatalf("object %d = %+v, want %+v", i, got, want)
				}
			}
		})
	}
}

func quote(s string) string {
	b := []byte{'"'}
	for _, c := range []byte(s) {
		if c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return string(append(b, '"'))
}
