package devenv

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"
)

// One backend stopped: every request, with a body or not, reaches the live one,
// with the client's address in X-Forwarded-For.
func TestBalancerSkipsAStoppedBackend(t *testing.T) {
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s xff=%s", r.Method, r.URL.RequestURI(), b, r.Header.Get("X-Forwarded-For"))
	}))
	defer live.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // nothing listens there any more: connections are refused

	lb := httptest.NewServer(Balancer([]string{deadAddr, strings.TrimPrefix(live.URL, "http://")}, zaptest.NewLogger(t)))
	defer lb.Close()
	for i := range 4 { // both turns of the round robin start on the dead one once
		resp, err := http.Post(lb.URL+"/payfip/notify?idop=42", "application/json", strings.NewReader(`{"n":`+fmt.Sprint(i)+`}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf(`POST /payfip/notify?idop=42 {"n":%d} xff=127.0.0.1`, i)
		if resp.StatusCode != http.StatusOK || string(b) != want {
			t.Fatalf("request %d: %s %q, want 200 %q", i, resp.Status, b, want)
		}
	}
}

// All backends down: 502, not a hang.
func TestBalancerAllBackendsDown(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := dead.Addr().String()
	dead.Close()
	lb := httptest.NewServer(Balancer([]string{addr}, zaptest.NewLogger(t)))
	defer lb.Close()
	resp, err := http.Get(lb.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %s, want 502", resp.Status)
	}
}
