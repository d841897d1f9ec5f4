package producer_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/ingest"
	"github.com/pendulum-dr/pendulum/pkg/producer"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// Example wires a producer to the ingest handler in process, as the local
// drill does: no sockets, virtual time, a simulated Kinesis stream.
func Example() {
	ctx := context.Background()
	clk := clock.NewVirtual(time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC))
	world := sim.NewWorld(clk, "123456789012", "eu-west-1")
	stream := world.Region("eu-west-1").Kinesis()
	if _, err := stream.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("pendulum-ingest")}); err != nil {
		log.Fatal(err)
	}
	// The table where ingest records each accepted id and content hash.
	db := world.Region("eu-west-1").DynamoDB()
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("pendulum-ingest-ids"),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(ingest.IdempotencyKey), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(ingest.IdempotencyKey), KeyType: ddbtypes.KeyTypeHash}},
	}); err != nil {
		log.Fatal(err)
	}
	_ = clk.Sleep(ctx, time.Minute) // until the stream and the table are ACTIVE

	h := &ingest.Handler{
		Config:      ingest.Config{StreamName: "pendulum-ingest", IdempotencyTable: "pendulum-ingest-ids", Region: "eu-west-1"},
		Kinesis:     stream,
		Idempotency: db,
		Clock:       clk,
	}
	dir, err := os.MkdirTemp("", "spool")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	p, err := producer.Open(producer.Config{
		Dir:      dir,
		Endpoint: "https://ingest.pendulum.example",
		Client:   &http.Client{Transport: ingest.RoundTripper(h.Handle)},
		Clock:    clk,
		Name:     "sensor-17",
		NoSync:   true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	for i := range 3 {
		if _, err := p.Produce(ctx, fmt.Appendf(nil, `{"reading":%d}`, i)); err != nil {
			log.Fatal(err)
		}
	}
	if err := p.Send(ctx); err != nil {
		log.Fatal(err)
	}
	s := p.Stats()
	fmt.Println("acknowledged:", s.Acknowledged, "pending:", s.Pending, "in stream:", stream.RecordCount("pendulum-ingest"))
	// Output: acknowledged: 3 pending: 0 in stream: 3
}
