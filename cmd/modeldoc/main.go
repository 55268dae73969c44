// Command modeldoc documents the models of a dbt project.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/modeldoc/modeldoc/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	os.Exit(cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
