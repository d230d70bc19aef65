package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/enfance/enfance/payfip"
)

// runPayFiP holds the PayFiP chores of going live (docs/payfip.md).
//
//	enfance payfip numcli 123456   asks PayFiP (recupererDetailClient) who this numcli is
func runPayFiP(ctx context.Context, args []string) error {
	if len(args) != 2 || args[0] != "numcli" {
		return errors.New("usage: enfance payfip numcli <numcli>")
	}
	cfg, _, err := setup("production")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "asking %s\n", cfg.PayFiPEndpoint)
	return checkNumcli(ctx, payfipClient(cfg), args[1], os.Stdout)
}

// checkNumcli prints what PayFiP knows of a régie's numcli, so an admin can check
// it is the right régie before the org is switched from T to X.
func checkNumcli(ctx context.Context, c *payfip.Client, numcli string, w io.Writer) error {
	info, err := c.ClientDetail(ctx, strings.TrimSpace(numcli))
	var f *payfip.Fault
	switch {
	case errors.As(err, &f):
		return fmt.Errorf("PayFiP refuses numcli %s: %s %s", numcli, f.Code, strings.TrimSpace(f.Libelle+" "+f.Message))
	case err != nil:
		return fmt.Errorf("numcli %s not checked: %w", numcli, err)
	}
	fmt.Fprintf(w, "numcli %s is known to PayFiP:\n", info.Numcli)
	for _, l := range []string{info.LibelleN1, info.LibelleN2, info.LibelleN3} {
		if l = strings.TrimSpace(l); l != "" {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	return nil
}
