package devenv

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// maxReplayBody is the largest request body the balancer keeps to send again to
// another backend; the API refuses larger ones anyway.
const maxReplayBody = 1 << 20

// Balancer returns the load balancer `enfance cluster` puts in front of its API
// processes, as a municipality's reverse proxy would: requests go to the backends
// in turn, and one that cannot be connected to (stopped, restarting) is skipped
// for the next, so PayFiP's notifications and the families' browsers reach a live
// API while another is down. A request that reached a backend which then died is
// answered 502 and not replayed: it may have had effects.
//
// Written by hand on httputil.ReverseProxy: it only adds the failover on refused
// connections, which the standard proxy leaves to its callers.
func Balancer(backends []string, log *zap.Logger) http.Handler {
	rt := &failover{backends: backends, next: new(atomic.Uint64), log: log,
		transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}}
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "http"
			r.Out.URL.Host = backends[0] // replaced by failover.RoundTrip
			r.SetXForwarded()
		},
		Transport: rt,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Warn("balancer: no backend answered", zap.String("path", r.URL.Path), zap.Error(err))
			http.Error(w, "Service momentanément indisponible : réessayez dans quelques secondes.", http.StatusBadGateway)
		},
	}
}

type failover struct {
	backends  []string
	next      *atomic.Uint64
	transport http.RoundTripper
	log       *zap.Logger
}

func (f *failover) RoundTrip(req *http.Request) (*http.Response, error) {
	body, replayable, err := bufferBody(req)
	if err != nil {
		return nil, err
	}
	first := f.next.Add(1)
	var lastErr error
	for i := range len(f.backends) {
		backend := f.backends[(first+uint64(i))%uint64(len(f.backends))]
		out := req.Clone(req.Context())
		out.URL.Host = backend
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err := f.transport.RoundTrip(out)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" || !replayable {
			return nil, err
		}
		f.log.Info("balancer: backend unreachable, trying the next", zap.String("backend", backend), zap.Error(err))
	}
	return nil, lastErr
}

// bufferBody reads a small body into memory so that it can be sent again; a
// larger one is streamed once (replayable false).
func bufferBody(req *http.Request) ([]byte, bool, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, true, nil
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, maxReplayBody+1))
	if err != nil {
		return nil, false, err
	}
	if len(b) <= maxReplayBody {
		req.Body.Close()
		return b, true, nil
	}
	req.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), req.Body), req.Body}
	return nil, false, nil
}
