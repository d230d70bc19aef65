// Package payfip is a client for the PayFiP web service ("PayFiP Régie
// Web-service", SOAP 1.1, document/literal) of the DGFiP, plus the rules the
// engine applies to its answers (Evaluate).
//
// Three operations are wrapped: creerPaiementSecurise (CreatePayment),
// recupererDetailPaiementSecurise (PaymentDetail) and recupererDetailClient
// (ClientDetail). Requests put the wrapper element in the service namespace and
// every child unqualified, fields in XSD order; responses are read by local
// element name, whatever prefixes the server uses. The client never retries:
// a creation that timed out may or may not exist on the PayFiP side, and the
// caller decides what to do (a new attempt always needs a new refdet).
//
// Nothing is logged here; errors carry no personal data beyond what the caller
// passed in and PayFiP echoed back in a fault.
package payfip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	_ "time/tzdata" // Evaluate needs Europe/Paris on hosts without a zoneinfo database

	"github.com/enfance/enfance/payfip/internal/soapxml"
)

// Defaults applied by NewClient when the Config leaves them zero.
const (
	DefaultTimeout        = 15 * time.Second
	DefaultMaxAmountCents = int64(10_000_000) // 100 000 €
	// MinAmountCents is PayFiP's minimum payment: 1 €.
	MinAmountCents = int64(100)
)

// Production endpoints (README: the WSDL's tipi.budget.gouv.fr host is dead; never
// read the endpoint from the WSDL).
const (
	ProductionEndpoint   = "https://www.payfip.gouv.fr/tpa/services/securite"
	ProductionPaymentURL = "https://www.payfip.gouv.fr/tpa/paiementws.web"
)

// maxResponseBytes bounds what we read from the server; real answers are < 2 KiB.
const maxResponseBytes = 1 << 20

// Config is the client configuration.
type Config struct {
	Endpoint       string        // SOAP URL, e.g. https://www.payfip.gouv.fr/tpa/services/securite
	PaymentURL     string        // base of the payment page, e.g. https://www.payfip.gouv.fr/tpa/paiementws.web
	Timeout        time.Duration // per call; DefaultTimeout when zero
	MaxAmountCents int64         // DefaultMaxAmountCents when zero
}

// Client calls the PayFiP web service. It is safe for concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client
}

// NewClient returns a client; hc nil means a default http.Client (every call is
// bounded by cfg.Timeout through its context anyway).
func NewClient(cfg Config, hc *http.Client) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxAmountCents <= 0 {
		cfg.MaxAmountCents = DefaultMaxAmountCents
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{cfg: cfg, hc: hc}
}

// PaymentRequest is what creerPaiementSecurise takes. Objet is normalised by
// CreatePayment (see NormalizeObjet); everything else is validated as is.
type PaymentRequest struct {
	Exer        int    // 4-digit year
	Mel         string // payer e-mail, 6–80 chars with '@'
	AmountCents int64  // ≥ 100 and ≤ Config.MaxAmountCents
	Numcli      string // régie number, exactly 6 digits
	Objet       string // optional free text
	Refdet      string // 6–30 [A-Za-z0-9], new for every attempt
	Saisie      string // T test, X activation, W production
	URLNotif    string // absolute http(s) URL, called server to server
	URLRedirect string // absolute http(s) URL, the payer's browser returns there
}

// Detail is recupererDetailPaiementSecurise's answer, raw strings as on the wire.
type Detail struct {
	IDOp, Numcli, Refdet, Exer, Montant, Mel, Objet, Saisie, Resultrans, Numauto, Dattrans, Heurtrans string
}

// ClientInfo is recupererDetailClient's answer.
type ClientInfo struct {
	Numcli, LibelleN1, LibelleN2, LibelleN3 string
}

// Fault is a SOAP fault answered by PayFiP. Type is the local name of the
// element inside detail: FonctionnelleErreur, TechDysfonctionnementErreur,
// TechIndisponibiliteErreur or TechProtocolaireErreur ("" when the fault had no
// detail; Message then holds the faultstring).
type Fault struct {
	Type, Code, Descriptif, Libelle, Message string
	Severite                                 int
	// FaultCode and FaultString are the SOAP envelope's own faultcode/faultstring.
	FaultCode, FaultString string
}

// Fault types.
const (
	FaultFonctionnelle      = "FonctionnelleErreur"
	FaultTechDysfonction    = "TechDysfonctionnementErreur"
	FaultTechIndisponible   = "TechIndisponibiliteErreur"
	FaultTechProtocolaire   = "TechProtocolaireErreur"
	CodeUnknownIDOp         = "P1" // IdOp incorrect: unknown, or purged
	CodeTransactionNotKnown = "P5" // Résultat de la transaction non connu: not finished
)

func (f *Fault) Error() string {
	var b strings.Builder
	b.WriteString("payfip: fault")
	if f.Type != "" {
		b.WriteString(" " + f.Type)
	}
	if f.Code != "" {
		b.WriteString(" " + f.Code)
	}
	for _, m := range []string{f.Libelle, f.Message, f.Descriptif, f.FaultString} {
		if m = strings.TrimSpace(m); m != "" {
			b.WriteString(": " + m)
			break
		}
	}
	return b.String()
}

// ErrInvalid is wrapped by every validation error (see FieldError).
var ErrInvalid = errors.New("payfip: invalid request")

// FieldError is a validation error on one request field; errors.Is(err,
// ErrInvalid) holds for it.
type FieldError struct {
	Field  string // wire name: numcli, montant, refdet, mel, saisie, exer, urlnotif, urlredirect, idOp
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrInvalid, e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Operation names (wrapper elements).
const (
	opCreate       = "creerPaiementSecurise"
	opDetail       = "recupererDetailPaiementSecurise"
	opClientDetail = "recupererDetailClient"
)

// CreatePayment validates r, normalises its Objet and calls
// creerPaiementSecurise. It returns the idOp to store before redirecting the
// payer to PaymentPageURL(idOp). It never retries.
func (c *Client) CreatePayment(ctx context.Context, r PaymentRequest) (string, error) {
	if err := c.validate(r); err != nil {
		return "", err
	}
	fields := [][2]string{
		{"exer", strconv.Itoa(r.Exer)},
		{"mel", r.Mel},
		{"montant", strconv.FormatInt(r.AmountCents, 10)},
		{"numcli", r.Numcli},
		{"objet", NormalizeObjet(r.Objet)},
		{"refdet", r.Refdet},
		{"saisie", r.Saisie},
		{"urlnotif", r.URLNotif},
		{"urlredirect", r.URLRedirect},
	}
	got, err := c.call(ctx, opCreate, fields)
	if err != nil {
		return "", err
	}
	idOp := strings.TrimSpace(got["idop"])
	if idOp == "" {
		return "", errors.New("payfip: creerPaiementSecurise: answer without idOp")
	}
	return idOp, nil
}

// PaymentDetail calls recupererDetailPaiementSecurise. A payment that is not
// finished answers a *Fault with Code "P5"; an unknown or purged idOp "P1".
func (c *Client) PaymentDetail(ctx context.Context, idOp string) (Detail, error) {
	if strings.TrimSpace(idOp) == "" || len(idOp) > 64 {
		return Detail{}, invalid("idOp", "must be 1–64 characters")
	}
	f, err := c.call(ctx, opDetail, [][2]string{{"idOp", idOp}})
	if err != nil {
		return Detail{}, err
	}
	return Detail{
		IDOp: f["idop"], Numcli: f["numcli"], Refdet: f["refdet"], Exer: f["exer"],
		Montant: f["montant"], Mel: f["mel"], Objet: f["objet"], Saisie: f["saisie"],
		Resultrans: f["resultrans"], Numauto: f["numauto"], Dattrans: f["dattrans"], Heurtrans: f["heurtrans"],
	}, nil
}

// ClientDetail calls recupererDetailClient to check a régie's numcli.
func (c *Client) ClientDetail(ctx context.Context, numcli string) (ClientInfo, error) {
	if !isDigits(numcli, 6) {
		return ClientInfo{}, invalid("numcli", "must be exactly 6 digits")
	}
	f, err := c.call(ctx, opClientDetail, [][2]string{{"numCli", numcli}})
	if err != nil {
		return ClientInfo{}, err
	}
	return ClientInfo{Numcli: f["numcli"], LibelleN1: f["libellen1"], LibelleN2: f["libellen2"], LibelleN3: f["libellen3"]}, nil
}

// PaymentPageURL is where the payer's browser goes: PaymentURL?idop=<idOp>.
func (c *Client) PaymentPageURL(idOp string) string {
	return PaymentPageURL(c.cfg.PaymentURL, idOp)
}

// PaymentPageURL is the page of PayFiP (at base, PAYFIP_PAYMENT_URL) where the
// payer pays idOp.
func PaymentPageURL(base, idOp string) string {
	return base + "?idop=" + url.QueryEscape(idOp)
}

// call posts one operation and returns the leaf fields of its answer (keys
// lower-cased), or a *Fault, or a plain error.
func (c *Client) call(ctx context.Context, op string, fields [][2]string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.Endpoint, bytes.NewReader(buildEnvelope(op, fields)))
	if err != nil {
		return nil, fmt.Errorf("payfip: %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `""`)
	req.Header.Set("Accept", "text/xml")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("payfip: %s: %w", op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("payfip: %s: reading answer (HTTP %d): %w", op, resp.StatusCode, err)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("payfip: %s: answer larger than %d bytes (HTTP %d)", op, maxResponseBytes, resp.StatusCode)
	}
	return parseResponse(op, resp.StatusCode, body)
}

// buildEnvelope writes a SOAP 1.1 request: the wrapper in the service namespace
// with a prefix, arg0 and its children unqualified, in the order given.
func buildEnvelope(op string, fields [][2]string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="` + soapxml.NSEnvelope + `">`)
	b.WriteString(`<soapenv:Header/><soapenv:Body>`)
	b.WriteString(`<pai:` + op + ` xmlns:pai="` + soapxml.NSService + `"><arg0>`)
	for _, f := range fields {
		b.WriteString("<" + f[0] + ">" + soapxml.Escape(f[1]) + "</" + f[0] + ">")
	}
	b.WriteString(`</arg0></pai:` + op + `></soapenv:Body></soapenv:Envelope>`)
	return b.Bytes()
}

// parseResponse reads an answer to op. A SOAP Fault (normally with HTTP 500)
// becomes a *Fault; a body that is not a SOAP envelope, or a non-200 status
// without a fault, a plain error.
func parseResponse(op string, status int, body []byte) (map[string]string, error) {
	root, err := soapxml.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("payfip: %s: HTTP %d, answer is not XML (%v)", op, status, err)
	}
	first, err := soapxml.Body(root)
	if err != nil {
		return nil, fmt.Errorf("payfip: %s: HTTP %d, %v", op, status, err)
	}
	if first.Local == "Fault" {
		return nil, faultFrom(first)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("payfip: %s: unexpected HTTP status %d", op, status)
	}
	if !strings.EqualFold(first.Local, op+"Response") {
		return nil, fmt.Errorf("payfip: %s: unexpected answer element %q", op, first.Local)
	}
	return first.Leaves(), nil
}

func faultFrom(n *soapxml.Node) *Fault {
	f := &Fault{}
	if c := n.Child("faultcode"); c != nil {
		f.FaultCode = strings.TrimSpace(c.Text)
	}
	if c := n.Child("faultstring"); c != nil {
		f.FaultString = strings.TrimSpace(c.Text)
	}
	d := n.Child("detail").FirstElement()
	if d == nil {
		f.Message = f.FaultString
		return f
	}
	f.Type = d.Local
	v := d.Leaves()
	f.Code = strings.TrimSpace(v["code"])
	f.Descriptif = strings.TrimSpace(v["descriptif"])
	f.Libelle = strings.TrimSpace(v["libelle"])
	f.Message = strings.TrimSpace(v["message"])
	f.Severite, _ = strconv.Atoi(strings.TrimSpace(v["severite"]))
	return f
}
