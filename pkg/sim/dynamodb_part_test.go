package sim

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Partitions of one item, of a few (searched in order) and of many (found
// by key) behave alike under random puts and deletes: every item is found
// by GetItem, Query returns each partition's items in sort-key order, and
// Scan and ItemCount see them all — against a plain model of the table.
func TestDynamoDBPartitionsAgainstAModel(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := Unmetered(context.Background())
	c := ddbTestTable(t, w, clk, "parts")
	rng := rand.New(rand.NewPCG(1, 2))
	model := map[string]map[int]string{} // pk → sk → value
	sizes := map[string]int{"one": 1, "few": 6, "many": 60}
	for step := 0; step < 3000; step++ {
		pk := []string{"one", "few", "many"}[rng.IntN(3)]
		sk := rng.IntN(sizes[pk])
		key := ddbItem{"pk": ddbS(pk), "sk": ddbN(strconv.Itoa(sk))}
		if rng.IntN(3) == 0 {
			if _, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("parts"), Key: key}); err != nil {
				t.Fatal(err)
			}
			delete(model[pk], sk)
		} else {
			v := strconv.Itoa(step)
			item := ddbItem{"pk": ddbS(pk), "sk": ddbN(strconv.Itoa(sk)), "v": ddbS(v)}
			if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("parts"), Item: item}); err != nil {
				t.Fatal(err)
			}
			if model[pk] == nil {
				model[pk] = map[int]string{}
			}
			model[pk][sk] = v
		}
		if step%50 != 0 {
			continue
		}
		total := 0
		for pk, items := range model {
			total += len(items)
			for sk := range sizes[pk] {
				out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("parts"), ConsistentRead: aws.Bool(true),
					Key: ddbItem{"pk": ddbS(pk), "sk": ddbN(strconv.Itoa(sk))}})
				if err != nil {
					t.Fatal(err)
				}
				want, ok := items[sk]
				got, _ := out.Item["v"].(*ddbtypes.AttributeValueMemberS)
				if ok != (out.Item != nil) || ok && (got == nil || got.Value != want) {
					t.Fatalf("step %d: GetItem %s/%d = %v, want %q (present %v)", step, pk, sk, out.Item, want, ok)
				}
			}
			q, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("parts"), ConsistentRead: aws.Bool(true),
				KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: ddbItem{":p": ddbS(pk)}})
			if err != nil {
				t.Fatal(err)
			}
			var got, want []int
			for _, it := range q.Items {
				n, _ := strconv.Atoi(it["sk"].(*ddbtypes.AttributeValueMemberN).Value)
				got = append(got, n)
			}
			for sk := range items {
				want = append(want, sk)
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("step %d: Query %s = %v, want %v", step, pk, got, want)
			}
		}
		s, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("parts"), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("parts")})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Items) != total || aws.ToInt64(d.Table.ItemCount) != int64(total) {
			t.Fatalf("step %d: Scan %d items, ItemCount %d, want %d", step, len(s.Items), aws.ToInt64(d.Table.ItemCount), total)
		}
	}
}

// ddbParts holds what a map by partition key would, through puts,
// replacements and deletes that wrap around its slots and grow it.
func TestDynamoDBPartsMatchAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := newDDBParts(0)
	want := map[string]*ddbStored{}
	key := func() string { return "S" + strconv.Itoa(rng.IntN(3000)) }
	for step := range 200000 {
		h := key()
		switch op := rng.IntN(10); {
		case op < 5:
			s := &ddbStored{key: h, hashLen: int32(len(h))}
			p.put(s)
			want[h] = s
		case op < 9:
			p.delete(h)
			delete(want, h)
		default:
			if got := p.get(h); got != want[h] {
				t.Fatalf("step %d: get(%s) = %p, want %p", step, h, got, want[h])
			}
		}
		if p.n != len(want) {
			t.Fatalf("step %d: %d items, want %d", step, p.n, len(want))
		}
	}
	seen := 0
	p.each(func(s *ddbStored) {
		if want[s.hash()] != s {
			t.Fatalf("each gave %s, not the one stored", s.hash())
		}
		seen++
	})
	for h, s := range want {
		if p.get(h) != s {
			t.Fatalf("get(%s) lost", h)
		}
	}
	if seen != len(want) || 4*p.n > 3*len(p.slots) {
		t.Fatalf("each saw %d of %d; %d slots for %d", seen, len(want), len(p.slots), p.n)
	}
}
