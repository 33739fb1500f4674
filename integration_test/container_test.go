package integration_test

import (
	"context"
	"fmt"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"
)

// startContainer runs PostgreSQL in a container where a Docker engine
// answers, and returns a superuser DSN.
func startContainer(ctx context.Context) (dsn string, stop func(), err error) {
	defer func() {
		// testcontainers panics when it finds no Docker engine in some
		// versions; that is an answer too.
		if r := recover(); r != nil {
			err = fmt.Errorf("testcontainers: %v", r)
		}
	}()
	c, err := tcpostgres.Run(ctx, "postgres:15-alpine",
		tcpostgres.WithDatabase("pgpipe"),
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword("postgres"),
		testcontainers.WithWaitStrategy(wait.ForLog("database system is ready to accept connections").
			WithOccurrence(2).WithStartupTimeout(90*time.Second)),
	)
	if err != nil {
		return "", nil, err
	}
	host, err := c.Host(ctx)
	if err != nil {
		_ = c.Terminate(context.Background())
		return "", nil, err
	}
	port, err := c.MappedPort(ctx, "5432/tcp")
	if err != nil {
		_ = c.Terminate(context.Background())
		return "", nil, err
	}
	dsn = fmt.Sprintf("host=%s port=%s user=postgres password=postgres dbname=pgpipe sslmode=disable", host, port.Port())
	return dsn, func() { _ = c.Terminate(context.Background()) }, nil
}
