package partition

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Object is one S3 object an event announced as created.
type Object struct {
	// Bucket is the bucket name.
	Bucket string
	// Key is the object key, URL-decoded.
	Key string
}

// ErrBadEvent reports an event or message body that is none of the shapes
// the partitions function understands, or is missing what it needs.
var ErrBadEvent = errors.New("not an S3 object event")

// s3Notification is an S3 event notification, as S3 sends it to SQS, SNS or
// Lambda. Its fields are decoded here rather than with events.S3Event so that
// a key that fails to URL-decode is reported with its record, not as a JSON
// error for the whole event.
type s3Notification struct {
	Records []s3Record `json:"Records"`
	// Event and Service are set on the s3:TestEvent S3 sends when a
	// notification configuration is saved.
	Event   string `json:"Event"`
	Service string `json:"Service"`
	// Type and Message are set when the notification came through SNS.
	Type    string `json:"Type"`
	Message string `json:"Message"`
	// DetailType, Source and Detail are set on EventBridge events.
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Detail     json.RawMessage `json:"detail"`
}

type s3Record struct {
	EventSource string `json:"eventSource"`
	EventName   string `json:"eventName"`
	S3          struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key string `json:"key"`
		} `json:"object"`
	} `json:"s3"`
}

type eventBridgeDetail struct {
	Bucket struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key string `json:"key"`
	} `json:"object"`
}

// ParseObjects returns the objects an S3 notification body announces as
// created. body is an S3 event notification (as S3 delivers it to SQS or
// Lambda), an s3:TestEvent (no objects), an EventBridge "Object Created" event
// from aws.s3, or an SNS notification wrapping one of these. Events that are
// not object creations (removals, restores…) give no objects. Anything else
// returns an error wrapping ErrBadEvent.
//
// S3 notification keys are form-encoded ("+" is a space) and are decoded
// with url.QueryUnescape; EventBridge keys are percent-decoded with
// url.PathUnescape, which leaves "+" alone.
func ParseObjects(body []byte) ([]Object, error) {
	return parseObjects(body, 0)
}

func parseObjects(body []byte, depth int) ([]Object, error) {
	var n s3Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	switch {
	case n.Records != nil:
		objs := make([]Object, 0, len(n.Records))
		for i, r := range n.Records {
			if r.EventSource != "aws:s3" {
				return nil, fmt.Errorf("%w: record %d: event source %q, want aws:s3", ErrBadEvent, i, r.EventSource)
			}
			if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
				continue
			}
			key, err := url.QueryUnescape(r.S3.Object.Key)
			if err != nil {
				return nil, fmt.Errorf("%w: record %d: key %q: %v", ErrBadEvent, i, r.S3.Object.Key, err)
			}
			if r.S3.Bucket.Name == "" || key == "" {
				return nil, fmt.Errorf("%w: record %d: bucket or key missing", ErrBadEvent, i)
			}
			objs = append(objs, Object{Bucket: r.S3.Bucket.Name, Key: key})
		}
		return objs, nil
	case n.Event == "s3:TestEvent":
		return nil, nil
	case n.DetailType != "" || n.Source != "":
		if n.Source != "aws.s3" {
			return nil, fmt.Errorf("%w: EventBridge source %q, want aws.s3", ErrBadEvent, n.Source)
		}
		if n.DetailType != "Object Created" {
			return nil, nil
		}
		var d eventBridgeDetail
		if err := json.Unmarshal(n.Detail, &d); err != nil {
			return nil, fmt.Errorf("%w: EventBridge detail: %v", ErrBadEvent, err)
		}
		key, err := url.PathUnescape(d.Object.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: EventBridge key %q: %v", ErrBadEvent, d.Object.Key, err)
		}
		if d.Bucket.Name == "" || key == "" {
			return nil, fmt.Errorf("%w: EventBridge detail: bucket or key missing", ErrBadEvent)
		}
		return []Object{{Bucket: d.Bucket.Name, Key: key}}, nil
	case n.Type == "Notification" && depth == 0:
		return parseObjects([]byte(n.Message), depth+1)
	}
	return nil, fmt.Errorf("%w: no Records, s3:TestEvent or EventBridge detail", ErrBadEvent)
}
