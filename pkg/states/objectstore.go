package states

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ObjectStore is the Amazon S3 a Distributed Map reads its items from
// (ItemReader) and writes its results to (ResultWriter). In AWS those calls
// are made with the state machine's execution role: ctx carries the
// TaskInfo of the Map state (TaskInfoFrom), so an implementation calling a
// service that enforces IAM acts as TaskInfo.RoleARN.
//
// An error is reported in the state's failure (States.ItemReaderFailed,
// States.ResultWriterFailed) with its message, so it should say what is
// missing: the bucket, the key.
type ObjectStore interface {
	// ListObjects returns every object of bucket whose key starts with
	// prefix, in ascending key order (ListObjectsV2, all of its pages).
	ListObjects(ctx context.Context, bucket, prefix string) ([]ObjectInfo, error)
	// GetObject returns the object's content.
	GetObject(ctx context.Context, bucket, key string) ([]byte, error)
	// PutObject stores body under key, replacing any object there.
	PutObject(ctx context.Context, bucket, key string, body []byte) error
}

// ObjectInfo is one object as ListObjectsV2 lists it.
type ObjectInfo struct {
	Key string
	// ETag is the entity tag with its quotes, as S3 returns it.
	ETag         string
	Size         int64
	LastModified time.Time
	// StorageClass is e.g. "STANDARD"; empty means STANDARD.
	StorageClass string
}

// DirStore is an ObjectStore in a local directory: s3://bucket/key is the
// file Dir/bucket/key. A bucket is a directory of Dir; keys use "/" whatever
// the operating system. ListObjects reports each file's MD5 as its ETag (an
// unencrypted single-part upload's ETag in S3) and its modification time.
type DirStore struct {
	Dir string
}

var _ ObjectStore = DirStore{}

// path returns the file of an object, refusing keys that would leave the
// bucket's directory.
func (d DirStore) path(bucket, key string) (string, error) {
	if err := d.checkBucket(bucket); err != nil {
		return "", err
	}
	if key == "" {
		return "", errors.New("empty object key")
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == ".." || seg == "." {
			return "", fmt.Errorf("object key %q has a %q segment, which this directory store cannot hold", key, seg)
		}
	}
	if strings.HasSuffix(key, "/") {
		return "", fmt.Errorf("object key %q ends with \"/\", which this directory store cannot hold as a file", key)
	}
	return filepath.Join(d.Dir, bucket, filepath.FromSlash(key)), nil
}

func (d DirStore) checkBucket(bucket string) error {
	if bucket == "" || strings.ContainsAny(bucket, `/\`) || bucket == "." || bucket == ".." {
		return fmt.Errorf("%q is not a bucket name", bucket)
	}
	return nil
}

// bucketDir returns the bucket's directory, or NoSuchBucket.
func (d DirStore) bucketDir(bucket string) (string, error) {
	if err := d.checkBucket(bucket); err != nil {
		return "", err
	}
	dir := filepath.Join(d.Dir, bucket)
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return "", fmt.Errorf("NoSuchBucket: the bucket %q does not exist (no directory %s)", bucket, dir)
	}
	return dir, nil
}

// ListObjects walks the bucket's directory.
func (d DirStore) ListObjects(ctx context.Context, bucket, prefix string) ([]ObjectInfo, error) {
	dir, err := d.bucketDir(bucket)
	if err != nil {
		return nil, err
	}
	var out []ObjectInfo
	err = filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := md5.Sum(b)
		out = append(out, ObjectInfo{Key: key, ETag: `"` + hex.EncodeToString(sum[:]) + `"`, Size: fi.Size(), LastModified: fi.ModTime().UTC(), StorageClass: "STANDARD"})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing s3://%s/%s: %v", bucket, prefix, err)
	}
	// S3 lists keys in ascending order of their UTF-8 bytes.
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// GetObject reads the object's file.
func (d DirStore) GetObject(ctx context.Context, bucket, key string) ([]byte, error) {
	if _, err := d.bucketDir(bucket); err != nil {
		return nil, err
	}
	p, err := d.path(bucket, key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("NoSuchKey: s3://%s/%s does not exist (no file %s)", bucket, key, p)
	}
	if err != nil {
		return nil, fmt.Errorf("reading s3://%s/%s: %v", bucket, key, err)
	}
	return b, nil
}

// PutObject writes the object's file, creating the directories of its key.
func (d DirStore) PutObject(ctx context.Context, bucket, key string, body []byte) error {
	if _, err := d.bucketDir(bucket); err != nil {
		return err
	}
	p, err := d.path(bucket, key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("writing s3://%s/%s: %v", bucket, key, err)
	}
	if err := os.WriteFile(p, body, 0o644); err != nil {
		return fmt.Errorf("writing s3://%s/%s: %v", bucket, key, err)
	}
	return nil
}
