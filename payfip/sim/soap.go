package sim

import (
	"context"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/payfip/internal/soapxml"
)

// simFault is a fault the service answers.
type simFault struct {
	typ, code, descriptif, libelle string
	severite                       int
}

func functional(code, descriptif, libelle string) *simFault {
	return &simFault{typ: payfip.FaultFonctionnelle, code: code, descriptif: descriptif, libelle: libelle, severite: 2}
}

var (
	faultP1 = functional("P1", "Erreur sur le paramètre IDOP", "IdOp incorrect.")
	faultP5 = functional("P5", "Transaction en cours", "Résultat de la transaction non connu.")
)

// handleSOAP answers like the JAX-WS RI: Content-Type text/xml only, an envelope
// in the SOAP 1.1 namespace, the wrapper in the service namespace, arg0 and its
// children unqualified (a qualified child is as good as absent, as with JAXB).
func (s *Simulator) handleSOAP(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "text/xml" {
		http.Error(w, "Unsupported Content-Type: "+r.Header.Get("Content-Type")+" Supported ones are: [text/xml]", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	root, err := soapxml.Parse(body)
	if err != nil {
		writeClientFault(w, "Couldn't create SOAP message due to exception: XML reader error: "+err.Error())
		return
	}
	if root.Local != "Envelope" || root.Space != soapxml.NSEnvelope {
		writeSOAPFault(w, "S:VersionMismatch", "Couldn't create SOAP message. Expected Envelope in namespace "+soapxml.NSEnvelope+", but got "+root.Space, nil)
		return
	}
	op, err := soapxml.Body(root)
	if err != nil {
		writeClientFault(w, "Couldn't create SOAP message: "+err.Error())
		return
	}
	if op.Space != soapxml.NSService {
		writeClientFault(w, "Cannot find dispatch method for {"+op.Space+"}"+op.Local)
		return
	}
	args := arguments(op)
	switch op.Local {
	case "creerPaiementSecurise":
		s.soapCreate(w, r, args)
	case "recupererDetailPaiementSecurise":
		s.soapDetail(w, r, args)
	case "recupererDetailClient":
		s.soapClient(w, args)
	default:
		writeClientFault(w, "Cannot find dispatch method for {"+op.Space+"}"+op.Local)
	}
}

// arguments returns the unqualified children of the unqualified arg0, by exact
// name; anything else is ignored (JAXB would see null).
func arguments(op *soapxml.Node) map[string]string {
	out := map[string]string{}
	for _, a := range op.Children {
		if a.Space != "" || a.Local != "arg0" {
			continue
		}
		for _, c := range a.Children {
			if c.Space == "" && len(c.Children) == 0 {
				out[c.Local] = c.Text
			}
		}
		break
	}
	return out
}

// sleep waits d unless the request goes away first; false if it did.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Simulator) soapCreate(w http.ResponseWriter, r *http.Request, a map[string]string) {
	s.mu.Lock()
	slow := s.faults.SlowCreate
	s.mu.Unlock()
	if !sleep(r.Context(), slow) {
		return
	}
	s.mu.Lock()
	switch {
	case s.faults.CreateHTTP500 > 0:
		s.faults.CreateHTTP500--
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, bareHTTP500)
		return
	case s.faults.CreateUnavailable > 0:
		s.faults.CreateUnavailable--
		s.mu.Unlock()
		writeSOAPFault(w, "S:Server", "Service indisponible", &simFault{
			typ: payfip.FaultTechIndisponible, code: "999", descriptif: "Indisponibilité du service",
			libelle: "Le service PayFiP est momentanément indisponible. Veuillez réessayer ultérieurement.", severite: 3,
		})
		return
	}
	s.mu.Unlock()

	if f := s.checkCreate(a); f != nil {
		writeSOAPFault(w, "S:Server", f.libelle, f)
		return
	}
	now := s.clock()
	p := &SimPayment{
		IDOp: newIDOp(), Exer: a["exer"], Mel: a["mel"], Montant: a["montant"], Numcli: a["numcli"],
		Objet: a["objet"], Refdet: a["refdet"], Saisie: a["saisie"], URLNotif: a["urlnotif"],
		URLRedirect: a["urlredirect"], CreatedAt: now,
	}
	s.mu.Lock()
	s.sweepLocked(now)
	key := p.Numcli + "/" + p.Refdet
	if _, dup := s.refdets[key]; dup {
		s.mu.Unlock()
		f := functional("R3", "Erreur sur le paramètre REFDET", "Le paramètre REFDET a déjà été utilisé pour ce client.")
		writeSOAPFault(w, "S:Server", f.libelle, f)
		return
	}
	s.refdets[key] = struct{}{}
	s.payments[p.IDOp] = p
	auto := s.auto
	var ac AutoPay
	if auto != nil {
		ac = *auto
	}
	s.mu.Unlock()

	s.log.Info("payfip sim: payment created", zap.String("idop", p.IDOp), zap.String("numcli", p.Numcli),
		zap.String("refdet", p.Refdet), zap.String("montant", p.Montant), zap.String("saisie", p.Saisie))
	writeSOAPResponse(w, "creerPaiementSecurise", [][2]string{{"idOp", p.IDOp}})
	if auto != nil {
		s.scheduleAuto(p.IDOp, ac)
	}
}

// checkCreate validates a creation the way the service does; nil when fine.
func (s *Simulator) checkCreate(a map[string]string) *simFault {
	numcli := a["numcli"]
	if !allDigits(numcli) || len(numcli) != 6 {
		return functional("T1", "Erreur sur le paramètre NUMCLI", "Numéro client invalide.")
	}
	if _, ok := s.clients[numcli]; !ok {
		return functional("T2", "Erreur sur le paramètre NUMCLI", "Le N° du client doit être pré-existant dans la base PayFiP.")
	}
	if exer := a["exer"]; !allDigits(exer) || len(exer) != 4 {
		return functional("E1", "Erreur sur le paramètre EXER", "Le format du paramètre EXER n'est pas conforme.")
	}
	montant := a["montant"]
	if !allDigits(montant) || len(montant) > 12 {
		return functional("M1", "Erreur sur le paramètre MONTANT", "Le format du montant n'est pas correct.")
	}
	cents, _ := strconv.ParseInt(montant, 10, 64)
	if cents < payfip.MinAmountCents {
		return functional("M3", "Erreur sur le paramètre MONTANT", "Le montant doit être supérieur ou égal à 1 €.")
	}
	if cents > MaxAmountCents {
		return functional("M5", "Erreur sur le paramètre MONTANT", "Le montant dépasse la limite autorisée.")
	}
	mel := a["mel"]
	if mel == "" {
		return functional("A1", "Erreur sur le paramètre MEL", "Adresse mel non renseignée.")
	}
	if n := utf8.RuneCountInString(mel); n < 6 || n > 80 || !strings.Contains(mel, "@") || strings.ContainsAny(mel, " \t\r\n") {
		return functional("A2", "Erreur sur le paramètre MEL", "Adresse mel incorrecte.")
	}
	if o := a["objet"]; len(o) > 100 || strings.TrimFunc(o, func(r rune) bool {
		return r == ' ' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}) != "" {
		return functional("O1", "Erreur sur le paramètre OBJET", "Le format du paramètre OBJET n'est pas conforme.")
	}
	if !payfip.ValidRefdet(a["refdet"]) {
		return functional("R3", "Erreur sur le paramètre REFDET", "Le format du paramètre REFDET n'est pas conforme")
	}
	switch a["saisie"] {
	case "T", "X", "W":
	default:
		return functional("S1", "Erreur sur le paramètre SAISIE", "Mode de saisie invalide.")
	}
	if !absoluteHTTP(a["urlnotif"]) {
		return functional("N1", "Erreur sur le paramètre URLNOTIF", "URL de notification non valide.")
	}
	if !absoluteHTTP(a["urlredirect"]) {
		return functional("D1", "Erreur sur le paramètre URLREDIRECT", "URL de redirection non valide.")
	}
	return nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (s *Simulator) soapDetail(w http.ResponseWriter, r *http.Request, a map[string]string) {
	s.mu.Lock()
	slow := s.faults.SlowDetail
	s.mu.Unlock()
	if !sleep(r.Context(), slow) {
		return
	}
	now := s.clock()
	s.mu.Lock()
	p := s.lookupLocked(a["idOp"], now)
	var cp SimPayment
	if p != nil {
		p.DetailRequests++
		cp = *p
	}
	f := s.faults
	s.mu.Unlock()
	switch {
	case p == nil:
		writeSOAPFault(w, "S:Server", faultP1.libelle, faultP1)
		return
	case !cp.finished():
		writeSOAPFault(w, "S:Server", faultP5.libelle, faultP5)
		return
	}
	montant := cp.Montant
	if f.TamperMontant {
		n, _ := strconv.ParseInt(montant, 10, 64)
		montant = strconv.FormatInt(n+1, 10)
	}
	saisie := cp.Saisie
	if f.ForceSaisieT {
		saisie = "T"
	}
	at := cp.FinishedAt.In(s.paris)
	fields := [][2]string{
		{"dattrans", at.Format("02012006")},
		{"exer", cp.Exer},
		{"heurtrans", at.Format("1504")},
		{"idOp", cp.IDOp},
		{"mel", cp.Mel},
		{"montant", montant},
	}
	if cp.Numauto != "" {
		fields = append(fields, [2]string{"numauto", cp.Numauto})
	}
	fields = append(fields,
		[2]string{"numcli", cp.Numcli},
		[2]string{"objet", cp.Objet},
		[2]string{"refdet", cp.Refdet},
		[2]string{"resultrans", cp.Resultrans},
		[2]string{"saisie", saisie},
	)
	writeSOAPResponse(w, "recupererDetailPaiementSecurise", fields)
}

func (s *Simulator) soapClient(w http.ResponseWriter, a map[string]string) {
	numcli := a["numCli"]
	if !allDigits(numcli) || len(numcli) != 6 {
		f := functional("T1", "Erreur sur le paramètre NUMCLI", "Numéro client invalide.")
		writeSOAPFault(w, "S:Server", f.libelle, f)
		return
	}
	c, ok := s.clients[numcli]
	if !ok {
		f := functional("T2", "Erreur sur le paramètre NUMCLI", "Le N° du client doit être pré-existant dans la base PayFiP.")
		writeSOAPFault(w, "S:Server", f.libelle, f)
		return
	}
	var fields [][2]string
	for _, kv := range [][2]string{{"libelleN1", c.LibelleN1}, {"libelleN2", c.LibelleN2}, {"libelleN3", c.LibelleN3}, {"numcli", c.Numcli}} {
		if kv[1] != "" {
			fields = append(fields, kv)
		}
	}
	writeSOAPResponse(w, "recupererDetailClient", fields)
}

const envelopeOpen = `<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>`
const envelopeClose = `</S:Body></S:Envelope>`

func writeSOAPResponse(w http.ResponseWriter, op string, fields [][2]string) {
	var b strings.Builder
	b.WriteString(envelopeOpen)
	b.WriteString(`<ns2:` + op + `Response xmlns:ns2="` + soapxml.NSService + `"><return>`)
	for _, f := range fields {
		b.WriteString("<" + f[0] + ">" + soapxml.Escape(f[1]) + "</" + f[0] + ">")
	}
	b.WriteString(`</return></ns2:` + op + `Response>`)
	b.WriteString(envelopeClose)
	w.Header().Set("Content-Type", "text/xml;charset=utf-8")
	_, _ = io.WriteString(w, b.String())
}

func writeClientFault(w http.ResponseWriter, msg string) { writeSOAPFault(w, "S:Client", msg, nil) }

// writeSOAPFault answers HTTP 500 with an S:Fault, with a detail element when f is set.
func writeSOAPFault(w http.ResponseWriter, code, faultstring string, f *simFault) {
	var b strings.Builder
	b.WriteString(envelopeOpen)
	b.WriteString(`<S:Fault xmlns:ns4="http://www.w3.org/2003/05/soap-envelope">`)
	b.WriteString(`<faultcode>` + code + `</faultcode><faultstring>` + soapxml.Escape(faultstring) + `</faultstring>`)
	if f != nil {
		b.WriteString(`<detail><ns2:` + f.typ + ` xmlns:ns2="` + soapxml.NSService + `">`)
		b.WriteString(`<code>` + soapxml.Escape(f.code) + `</code>`)
		b.WriteString(`<descriptif>` + soapxml.Escape(f.descriptif) + `</descriptif>`)
		b.WriteString(`<libelle>` + soapxml.Escape(f.libelle) + `</libelle>`)
		b.WriteString(`<message>` + soapxml.Escape(f.libelle) + `</message>`)
		b.WriteString(`<severite>` + strconv.Itoa(f.severite) + `</severite>`)
		b.WriteString(`</ns2:` + f.typ + `></detail>`)
	}
	b.WriteString(`</S:Fault>`)
	b.WriteString(envelopeClose)
	w.Header().Set("Content-Type", "text/xml;charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, b.String())
}

const bareHTTP500 = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>500 Internal Server Error</title>
</head><body>
<h1>Internal Server Error</h1>
<p>The server encountered an internal error or
misconfiguration and was unable to complete
your request.</p>
</body></html>
`
