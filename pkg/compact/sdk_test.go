package compact

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3Server is a minimal S3 REST endpoint (path style): ListObjectsV2 with
// pagination, GetObject, PutObject. It lets the real SDK client drive the
// compactor, so the SDK's own request building (a file body streamed with
// its content length and checksum) and response parsing are exercised.
type s3Server struct {
	mu       sync.Mutex
	objects  map[string][]byte // "bucket/key"
	pageSize int
	putHdrs  http.Header
}

type listResult struct {
	XMLName               xml.Name `xml:"ListBucketResult"`
	Name                  string
	Prefix                string
	KeyCount              int
	IsTruncated           bool
	NextContinuationToken string `xml:",omitempty"`
	Contents              []struct {
		Key  string
		Size int
	}
}

func (s *s3Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && key == "" && r.URL.Query().Get("list-type") == "2":
		q := r.URL.Query()
		prefix, after := q.Get("prefix"), q.Get("continuation-token")
		var keys []string
		for k := range s.objects {
			if b, kk, _ := strings.Cut(k, "/"); b == bucket && strings.HasPrefix(kk, prefix) && kk > after {
				keys = append(keys, kk)
			}
		}
		sort.Strings(keys)
		res := listResult{Name: bucket, Prefix: prefix}
		for i, k := range keys {
			if i == s.pageSize {
				res.IsTruncated, res.NextContinuationToken = true, keys[i-1]
				break
			}
			res.Contents = append(res.Contents, struct {
				Key  string
				Size int
			}{k, len(s.objects[bucket+"/"+k])})
		}
		res.KeyCount = len(res.Contents)
		w.Header().Set("Content-Type", "application/xml")
		xml.NewEncoder(w).Encode(res)
	case r.Method == http.MethodGet:
		b, ok := s.objects[bucket+"/"+key]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`)
			return
		}
		w.Write(b)
	case r.Method == http.MethodPut:
		b, err := io.ReadAll(r.Body)
		if err != nil || int64(len(b)) != r.ContentLength {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.objects[bucket+"/"+key] = b
		s.putHdrs = r.Header.Clone()
		w.Header().Set("ETag", `"x"`)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func TestCompactWithTheSDKClient(t *testing.T) {
	r1, r2 := rec("a", 1, "eu-west-1"), rec("b", 2, "eu-west-1")
	srv := &s3Server{pageSize: 1, objects: map[string][]byte{
		rawBucket + "/dt=2026-11-24/hr=07/o1.gz": gz(t, ndjson(t, r1, r2)),
		rawBucket + "/dt=2026-11-24/hr=07/o2.gz": gz(t, ndjson(t, r2, canary("canary-x"))),
	}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	client := s3.New(s3.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(hs.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	c := &Compactor{Raw: client, Curated: client, RawBucket: rawBucket, CuratedBucket: curatedBucket, TempDir: t.TempDir()}
	res, err := c.Compact(context.Background(), hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := [4]int64{int64(res.Objects), res.Records, res.Duplicates, res.Rows}, [4]int64{2, 4, 1, 2}; got != want {
		t.Fatalf("objects, records, duplicates, rows = %v, want %v", got, want)
	}
	body := srv.objects[curatedBucket+"/"+res.Key]
	if got, want := int64(len(body)), res.Bytes; got != want {
		t.Fatalf("stored %d bytes, result says %d", got, want)
	}
	rows := readRows(t, body)
	if len(rows) != 2 || rows[0] != rowOf(r1) || rows[1] != rowOf(r2) {
		t.Fatalf("rows = %+v", rows)
	}
	if got, want := srv.putHdrs.Get("Content-Type"), "application/vnd.apache.parquet"; got != want {
		t.Fatalf("Content-Type = %q, want %q", got, want)
	}
	if bytes.Contains([]byte(srv.putHdrs.Get("Content-Encoding")), []byte("aws-chunked")) {
		t.Fatal("the file body was sent chunked; want one body of known length")
	}
}
