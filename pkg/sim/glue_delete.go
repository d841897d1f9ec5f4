package sim

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
)

// DeleteTable deletes a table and its partitions.
func (g *Glue) DeleteTable(ctx context.Context, in *glue.DeleteTableInput, optFns ...func(*glue.Options)) (*glue.DeleteTableOutput, error) {
	const op = "DeleteTable"
	if err := g.r.call(ctx, glue.ServiceID, op, in); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	db, ok := g.dbs[strings.ToLower(aws.ToString(in.DatabaseName))]
	if !ok {
		return nil, opErr(glue.ServiceID, op, glueNotFound("Database %s not found.", aws.ToString(in.DatabaseName)))
	}
	name := strings.ToLower(aws.ToString(in.Name))
	if _, ok := db.tables[name]; !ok {
		return nil, opErr(glue.ServiceID, op, glueNotFound("Table %s not found.", aws.ToString(in.Name)))
	}
	delete(db.tables, name)
	return &glue.DeleteTableOutput{}, nil
}

// DeleteDatabase deletes a database and every table in it.
func (g *Glue) DeleteDatabase(ctx context.Context, in *glue.DeleteDatabaseInput, optFns ...func(*glue.Options)) (*glue.DeleteDatabaseOutput, error) {
	const op = "DeleteDatabase"
	if err := g.r.call(ctx, glue.ServiceID, op, in); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	name := strings.ToLower(aws.ToString(in.Name))
	if _, ok := g.dbs[name]; !ok {
		return nil, opErr(glue.ServiceID, op, glueNotFound("Database %s not found.", aws.ToString(in.Name)))
	}
	delete(g.dbs, name)
	return &glue.DeleteDatabaseOutput{}, nil
}
