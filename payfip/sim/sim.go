// Package sim is an in-memory PayFiP simulator: the SOAP web service
// (creerPaiementSecurise, recupererDetailPaiementSecurise, recupererDetailClient)
// answered the way the DGFiP's JAX-WS stack does, the payment page payers are
// redirected to, the server-to-server notification to urlnotif, and a small JSON
// control API so that tests, benchmarks and the dev environment can drive it.
//
// Behaviour worth knowing (see also docs/payfip.md):
//   - an idOp that is not finished 15 minutes after its creation (on Options.Clock)
//     is purged: the page answers 404 and the detail a P1 fault;
//   - a finished payment stays queryable for 24 hours (the real service keeps
//     them much longer; it only purges never-used idOps, at night);
//   - refdet must be unique per numcli for the simulator's lifetime (R3);
//   - the fault codes for creation errors are those public integrations
//     document (T1/T2 numcli, M1/M3/M5 montant, A1/A2 mel, R3 refdet, S1 saisie,
//     N1 urlnotif, D1 urlredirect) plus two of ours: E1 exer, O1 objet.
package sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/enfance/enfance/payfip"
)

// Lifetimes of the simulated idOps.
const (
	// PageLifetime: an idOp not finished this long after creation is purged.
	PageLifetime = 15 * time.Minute
	// FinishedRetention: a finished payment is purged this long after creation.
	FinishedRetention = 24 * time.Hour
	// MaxAmountCents is the largest montant the simulator accepts (M5 above).
	MaxAmountCents = int64(10_000_000)
)

// Errors returned by Pay.
var (
	ErrUnknownPayment  = errors.New("sim: unknown or expired idOp")
	ErrAlreadyFinished = errors.New("sim: payment already finished")
	ErrBadResult       = errors.New("sim: resultrans must be P, V, R, Z or A")
)

// Options configures a Simulator; the zero value works.
type Options struct {
	Clock      func() time.Time             // default time.Now; injectable for tests
	Logger     *zap.Logger                  // default zap.NewNop()
	HTTPClient *http.Client                 // for calling urlnotif; default 10s timeout
	Clients    map[string]payfip.ClientInfo // known numcli; default: "123456" VILLE DE DEMO / REGIE PERISCOLAIRE
	Auto       *AutoPay                     // if set, every new payment is settled automatically
}

// AutoPay settles every new payment with Result after Delay (real time).
type AutoPay struct {
	Result string // "P", "V", "R", "Z" or "A"
	Delay  time.Duration
}

// Faults scripts misbehaviour. SetFaults replaces the whole set.
type Faults struct {
	SlowCreate, SlowDetail time.Duration // sleep before answering
	CreateUnavailable      int           // next N creations answer a TechIndisponibiliteErreur fault (HTTP 500)
	CreateHTTP500          int           // next N creations answer a bare HTTP 500 with a non-SOAP body (checked first)
	LoseNotifications      bool          // don't call urlnotif
	DuplicateNotifications int           // call urlnotif this many times concurrently instead of once
	TamperMontant          bool          // detail answers montant+1
	ForceSaisieT           bool          // detail answers saisie T whatever was sent
}

// SimPayment is a payment as the simulator holds it (for inspection).
type SimPayment struct {
	IDOp        string `json:"idop"`
	Exer        string `json:"exer"`
	Mel         string `json:"mel"`
	Montant     string `json:"montant"`
	Numcli      string `json:"numcli"`
	Objet       string `json:"objet"`
	Refdet      string `json:"refdet"`
	Saisie      string `json:"saisie"`
	URLNotif    string `json:"urlnotif"`
	URLRedirect string `json:"urlredirect"`

	Resultrans string    `json:"resultrans"` // "" while not finished
	Numauto    string    `json:"numauto,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`

	NotifyAttempts int `json:"notify_attempts"` // HTTP calls made to urlnotif
	Notified       int `json:"notified"`        // of which answered 2xx
	DetailRequests int `json:"detail_requests"` // recupererDetailPaiementSecurise calls for it
}

func (p *SimPayment) finished() bool { return p.Resultrans != "" }

// Simulator is safe for concurrent use; all state is in memory.
type Simulator struct {
	clock   func() time.Time
	log     *zap.Logger
	hc      *http.Client
	clients map[string]payfip.ClientInfo
	paris   *time.Location

	ctx    context.Context // cancelled by Close; bounds notifications and auto-payments
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	auto      *AutoPay
	faults    Faults
	payments  map[string]*SimPayment
	refdets   map[string]struct{} // numcli + "/" + refdet ever accepted
	lastSweep time.Time
}

// New returns a simulator.
func New(o Options) *Simulator {
	s := &Simulator{
		clock:    o.Clock,
		log:      o.Logger,
		hc:       o.HTTPClient,
		clients:  map[string]payfip.ClientInfo{},
		payments: map[string]*SimPayment{},
		refdets:  map[string]struct{}{},
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Clients == nil {
		o.Clients = map[string]payfip.ClientInfo{
			"123456": {Numcli: "123456", LibelleN1: "VILLE DE DEMO", LibelleN2: "REGIE PERISCOLAIRE"},
		}
	}
	for k, v := range o.Clients {
		if v.Numcli == "" {
			v.Numcli = k
		}
		s.clients[k] = v
	}
	if o.Auto != nil {
		a := *o.Auto
		s.auto = &a
	}
	loc, err := time.LoadLocation("Europe/Paris") // embedded by payfip's time/tzdata import
	if err != nil {
		panic(err)
	}
	s.paris = loc
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Close cancels pending automatic payments and notification retries, lets the
// notification attempts already started finish (each is bounded by the HTTP
// client's timeout) and waits for them. The handler keeps answering
// afterwards, without notifying.
func (s *Simulator) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// spawn runs fn in a goroutine tracked by Close; false once closed.
func (s *Simulator) spawn(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
	return true
}

// Handler mounts the SOAP endpoint, the payment page and the control API:
//
//	POST /tpa/services/securite      SOAP 1.1
//	GET  /tpa/paiementws.web?idop=…  payment page
//	POST /tpa/paiementws.web         the page's buttons (idop, resultrans)
//	POST /sim/pay                    {"idop","resultrans"}
//	GET|PUT /sim/faults              Faults as JSON (see faultsJSON)
//	GET|PUT /sim/auto                {"result","delay_ms"}, {} disables
//	GET  /sim/payments/{idop}        SimPayment as JSON
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tpa/services/securite", s.handleSOAP)
	mux.HandleFunc("GET /tpa/paiementws.web", s.handlePage)
	mux.HandleFunc("POST /tpa/paiementws.web", s.handlePageSubmit)
	mux.HandleFunc("POST /sim/pay", s.handleCtlPay)
	mux.HandleFunc("GET /sim/faults", s.handleCtlGetFaults)
	mux.HandleFunc("PUT /sim/faults", s.handleCtlPutFaults)
	mux.HandleFunc("GET /sim/auto", s.handleCtlGetAuto)
	mux.HandleFunc("PUT /sim/auto", s.handleCtlPutAuto)
	mux.HandleFunc("GET /sim/payments/{idop}", s.handleCtlPayment)
	return mux
}

// SetFaults replaces the scripted faults.
func (s *Simulator) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
	s.log.Info("payfip sim: faults set", zap.Any("faults", toFaultsJSON(f)))
}

// SetAuto replaces the automatic settlement (nil disables it).
func (s *Simulator) SetAuto(a *AutoPay) error {
	if a != nil && !validResult(a.Result) {
		return ErrBadResult
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a == nil {
		s.auto = nil
		return nil
	}
	c := *a
	s.auto = &c
	return nil
}

// Payment returns a copy of the payment idOp, false if unknown or purged.
func (s *Simulator) Payment(idOp string) (SimPayment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.lookupLocked(idOp, s.clock())
	if p == nil {
		return SimPayment{}, false
	}
	return *p, true
}

// Pay does what the payment page's buttons do: record resultrans for idOp, then
// notify urlnotif in the background. A finished payment is never changed
// (ErrAlreadyFinished); an unknown or expired one gives ErrUnknownPayment.
func (s *Simulator) Pay(idOp, resultrans string) error {
	_, err := s.pay(idOp, resultrans)
	return err
}

func (s *Simulator) pay(idOp, resultrans string) (SimPayment, error) {
	if !validResult(resultrans) {
		return SimPayment{}, ErrBadResult
	}
	now := s.clock()
	s.mu.Lock()
	p := s.lookupLocked(idOp, now)
	if p == nil {
		s.mu.Unlock()
		return SimPayment{}, ErrUnknownPayment
	}
	if p.finished() {
		cp := *p
		s.mu.Unlock()
		return cp, ErrAlreadyFinished
	}
	p.Resultrans = resultrans
	p.FinishedAt = now
	if resultrans == "P" || resultrans == "V" {
		p.Numauto = newNumauto()
	}
	f := s.faults
	cp := *p
	s.mu.Unlock()

	s.log.Info("payfip sim: payment finished", zap.String("idop", idOp), zap.String("resultrans", resultrans),
		zap.String("numcli", cp.Numcli), zap.String("refdet", cp.Refdet))
	s.notify(cp, f)
	return cp, nil
}

func validResult(r string) bool {
	switch r {
	case "P", "V", "R", "Z", "A":
		return true
	}
	return false
}

// lookupLocked returns the live payment idOp or nil; it purges what has expired.
func (s *Simulator) lookupLocked(idOp string, now time.Time) *SimPayment {
	s.sweepLocked(now)
	p := s.payments[idOp]
	if p == nil {
		return nil
	}
	if expired(p, now) {
		delete(s.payments, idOp)
		return nil
	}
	return p
}

func expired(p *SimPayment, now time.Time) bool {
	age := now.Sub(p.CreatedAt)
	if p.finished() {
		return age >= FinishedRetention
	}
	return age >= PageLifetime
}

// sweepLocked purges expired payments at most once a minute of clock time.
func (s *Simulator) sweepLocked(now time.Time) {
	if d := now.Sub(s.lastSweep); d >= 0 && d < time.Minute {
		return
	}
	s.lastSweep = now
	for id, p := range s.payments {
		if expired(p, now) {
			delete(s.payments, id)
		}
	}
}

// newIDOp returns a random opaque idOp shaped like the real ones (a UUID).
func newIDOp() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newNumauto returns an authorisation number like the recorded ones: 12 digits + "-tip".
func newNumauto() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000_000_000))
	return fmt.Sprintf("%012d-tip", n.Int64())
}

// scheduleAuto settles idOp after a.Delay unless the simulator is closed.
func (s *Simulator) scheduleAuto(idOp string, a AutoPay) {
	s.spawn(func() {
		t := time.NewTimer(a.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.ctx.Done():
			return
		}
		if err := s.Pay(idOp, a.Result); err != nil {
			s.log.Info("payfip sim: automatic payment skipped", zap.String("idop", idOp), zap.Error(err))
		}
	})
}
