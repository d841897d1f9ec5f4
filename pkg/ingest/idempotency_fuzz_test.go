package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/record"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// stream is a Kinesis stand-in that keeps the entries it accepted, in
// order, and fails as a fuzz step tells it: mode 1 refuses every call (the
// stream unreachable), mode 2 fails the first entry of the first call
// (throttled) and takes the rest.
type stream struct {
	mu       sync.Mutex
	mode     int
	calls    int
	accepted []types.PutRecordsRequestEntry
}

func (s *stream) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.mode == 1 {
		return nil, apiError("AccessDeniedException")
	}
	out := acceptAll(in)
	for i, e := range in.Records {
		if s.mode == 2 && s.calls == 1 && i == 0 {
			out = failSome(in, "ProvisionedThroughputExceededException", 0)
			continue
		}
		s.accepted = append(s.accepted, types.PutRecordsRequestEntry{Data: bytes.Clone(e.Data), PartitionKey: aws.String(aws.ToString(e.PartitionKey))})
	}
	return out, nil
}

// fuzzIDs and fuzzValues are the small spaces the fuzz draws records from,
// so that ids and contents repeat.
var (
	fuzzIDs    = []string{"a", "b", "c", "d"}
	fuzzValues = []string{`1`, `"x"`, `[1,2]`}
)

// fuzzRecord is the record byte b stands for: an id, a value, spaced out or
// not (the same content), members in one order or the other (not).
func fuzzRecord(b byte) string {
	id, v := fuzzIDs[b%4], fuzzValues[(b>>2)%3]
	spaced, swapped := b&0x10 != 0, b&0x20 != 0
	m1, m2 := fmt.Sprintf(`"id":%q`, id), `"v":`+v
	if swapped {
		m1, m2 = m2, m1
	}
	if spaced {
		return "{ " + strings.Replace(m1, ":", " : ", 1) + " ,  " + strings.Replace(m2, ":", " : ", 1) + " }"
	}
	return "{" + m1 + "," + m2 + "}"
}

func compactJSON(t *testing.T, s []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, s); err != nil {
		t.Fatalf("compact %q: %v", s, err)
	}
	return b.String()
}

// FuzzRequestSequence drives one handler with a sequence of requests whose
// records repeat ids with the same or other content, while the idempotency
// table throttles and Kinesis fails as the script says, and checks after
// every answer:
//
//   - every acknowledged record (every record of a 200) has the content
//     that Kinesis took first under its id — the content every stage
//     downstream keeps (first writer wins): ingest never acknowledges a
//     record that will be dropped;
//   - every record answered as a conflict has an id some earlier valid
//     record (of this request or an earlier one) held with other content:
//     no redelivery is refused;
//   - no record of a 400 or 503 reaches Kinesis, and every answer is 200,
//     400 or 503.
//
// Each step is two bytes: a control byte (bits 0-2: the number of records
// less one, at most 5; bit 3: the table throttles two writes, which the
// budget absorbs; bit 4: the table throttles every write of the step; bits
// 5-6: the Kinesis mode) and one byte per record (fuzzRecord).
func FuzzRequestSequence(f *testing.F) {
	f.Add([]byte{0x01, 0x00, 0x04, 0x00, 0x00, 0x10})                   // a=1 twice, then a spaced-out copy
	f.Add([]byte{0x00, 0x00, 0x00, 0x04})                               // a=1 then a="x": a conflict
	f.Add([]byte{0x20, 0x00, 0x00, 0x00, 0x00, 0x04})                   // Kinesis down, resend, then other content
	f.Add([]byte{0x40, 0x01, 0x10, 0x01, 0x00, 0x05, 0x02, 0x01, 0x21}) // throttled throughout, then swapped members
	f.Add([]byte{0x09, 0x00, 0x05, 0x02, 0x00, 0x04, 0x03, 0x08})       // a burst of throttling, partial Kinesis failure
	f.Add([]byte{0x03, 0x00, 0x04, 0x00, 0x10, 0x01, 0x02, 0x04})       // a within-request conflict, then its content
	f.Fuzz(func(t *testing.T, script []byte) {
		clk := clock.NewVirtual(testStart)
		k := &stream{}
		region := newIdempotencyTable(clk)
		h := &Handler{Config: Config{StreamName: "s", IdempotencyTable: testTable, Region: "eu-west-1"}, Kinesis: k,
			Idempotency: region.DynamoDB(), Clock: clk, Jitter: func() float64 { return 0.5 }}
		tried := map[string]map[string]bool{} // id → contents of valid records sent with it
		first := map[string]string{}          // id → the content Kinesis took first
		throttle := &ddbtypes.ProvisionedThroughputExceededException{Message: aws.String("throttled")}
		for step := 0; len(script) > 0 && step < 40; step++ {
			ctl := script[0]
			script = script[1:]
			n := min(int(ctl&7)+1, 5, len(script))
			recs := script[:n]
			script = script[n:]
			if n == 0 {
				break
			}
			var body strings.Builder
			for _, b := range recs {
				body.WriteString(fuzzRecord(b) + "\n")
			}
			var faults []*sim.Fault
			if ctl&0x08 != 0 {
				faults = append(faults, &sim.Fault{Service: "DynamoDB", Operation: "PutItem", Err: throttle, Times: 2})
			}
			if ctl&0x10 != 0 {
				faults = append(faults, &sim.Fault{Service: "DynamoDB", Operation: "PutItem", Err: throttle})
			}
			for _, fl := range faults {
				region.World().Inject(fl)
			}
			k.mu.Lock()
			k.mode, k.calls = int(ctl>>5)&3, 0
			before := len(k.accepted)
			k.mu.Unlock()

			resp, _ := h.Handle(t.Context(), postNDJSON(body.String()))
			for _, fl := range faults {
				region.World().RemoveFault(fl)
			}
			k.mu.Lock()
			fresh := k.accepted[before:]
			k.mu.Unlock()
			for _, e := range fresh {
				rec, err := record.Decode(e.Data)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := first[rec.ID]; !ok {
					first[rec.ID] = compactJSON(t, rec.Data)
				}
			}
			contents := make([]string, n)
			for i, b := range recs {
				contents[i] = compactJSON(t, []byte(fuzzRecord(b)))
			}
			inRequest := false // a 400 found by Parse: no id was recorded
			switch resp.StatusCode {
			case 200:
				for i, b := range recs {
					id := fuzzIDs[b%4]
					if first[id] != contents[i] {
						t.Fatalf("step %d: record %d %s acknowledged, but Kinesis first took %s under its id: acknowledged, then dropped downstream",
							step, i, contents[i], first[id])
					}
				}
			case 400:
				var bad struct{ Problems []Problem }
				if err := json.Unmarshal([]byte(resp.Body), &bad); err != nil || len(bad.Problems) == 0 {
					t.Fatalf("step %d: 400 %s", step, resp.Body)
				}
				for _, p := range bad.Problems {
					inRequest = inRequest || strings.Contains(p.Reason, "in this request")
				}
				for _, p := range bad.Problems {
					if p.Status != StatusConflict || p.Index == nil {
						t.Fatalf("step %d: a problem that is no conflict: %+v", step, p)
					}
					i := *p.Index
					id := fuzzIDs[recs[i]%4]
					other := false
					if inRequest {
						// Found by Parse: an earlier record of this request.
						for j := range i {
							other = other || fuzzIDs[recs[j]%4] == id && contents[j] != contents[i]
						}
					} else {
						// Found by the table: an earlier request's record.
						for c := range tried[id] {
							other = other || c != contents[i]
						}
					}
					if !other {
						t.Fatalf("step %d: record %d %s answered as a conflict, but its id never held other content (%v)", step, i, contents[i], tried[id])
					}
				}
			case 503:
			default:
				t.Fatalf("step %d: answer %d %s", step, resp.StatusCode, resp.Body)
			}
			if resp.StatusCode != 200 && k.mode == 0 && len(fresh) > 0 {
				t.Fatalf("step %d: answered %d, yet %d records reached Kinesis", step, resp.StatusCode, len(fresh))
			}
			for i, b := range recs {
				if inRequest {
					break
				}
				id := fuzzIDs[b%4]
				if tried[id] == nil {
					tried[id] = map[string]bool{}
				}
				tried[id][contents[i]] = true
			}
		}
	})
}
