package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/payfip/sim"
)

func TestCheckNumcliAsksPayFiP(t *testing.T) {
	s := sim.New(sim.Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })
	c := payfip.NewClient(payfip.Config{Endpoint: srv.URL + "/tpa/services/securite", PaymentURL: srv.URL + "/tpa/paiementws.web"}, nil)

	var out strings.Builder
	if err := checkNumcli(context.Background(), c, "123456", &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "numcli 123456 is known") || !strings.Contains(got, "VILLE DE DEMO") {
		t.Fatalf("output %q", got)
	}
	err := checkNumcli(context.Background(), c, "999999", &out)
	if err == nil || !strings.Contains(err.Error(), "T2") {
		t.Fatalf("unknown numcli: %v", err)
	}
	if err := checkNumcli(context.Background(), c, "12345", &out); err == nil || !strings.Contains(err.Error(), "not checked") {
		t.Fatalf("5 digits: %v", err)
	}
}
