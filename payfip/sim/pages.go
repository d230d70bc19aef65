package sim

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

var pages = template.Must(template.New("layout").Parse(`{{define "head"}}<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — PayFiP (simulateur)</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f5f5fe;color:#161616;margin:0}
header{background:#000091;color:#fff;padding:.8rem 1.5rem;font-weight:700}
header small{font-weight:400;opacity:.85;margin-left:.5rem}
main{max-width:34rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin-top:0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem}
dt{color:#555}dd{margin:0;font-weight:600}
.test{background:#fff4e5;border:1px solid #f0a020;padding:.5rem .8rem;border-radius:4px}
.buttons{display:flex;flex-wrap:wrap;gap:.6rem;margin-top:1.5rem}
button{font:inherit;padding:.6rem 1rem;border-radius:4px;border:1px solid #000091;cursor:pointer}
button.pay{background:#000091;color:#fff}button.other{background:#fff;color:#000091}
.ok{color:#18753c}.ko{color:#ce0500}
a.back{display:inline-block;margin-top:1.2rem;padding:.6rem 1rem;background:#000091;color:#fff;text-decoration:none;border-radius:4px}
</style>
</head>
<body>
<header>PayFiP <small>simulateur — aucun paiement réel n'est effectué</small></header>
<main>{{end}}
{{define "foot"}}</main>
</body>
</html>
{{end}}
{{define "page"}}{{template "head" .}}
<h1>Paiement en ligne</h1>
{{if eq .P.Saisie "T"}}<p class="test">Mode test : ce paiement ne sera pas encaissé.</p>{{end}}
<dl>
<dt>Créancier</dt><dd>{{.Org1}}{{if .Org2}}<br>{{.Org2}}{{end}}</dd>
{{if .P.Objet}}<dt>Objet</dt><dd>{{.P.Objet}}</dd>{{end}}
<dt>Référence</dt><dd>{{.P.Refdet}}</dd>
<dt>Montant</dt><dd>{{.Amount}}</dd>
</dl>
<form method="post" action="/tpa/paiementws.web">
<input type="hidden" name="idop" value="{{.P.IDOp}}">
<div class="buttons">
<button class="pay" type="submit" name="resultrans" value="P">Payer par carte</button>
<button class="pay" type="submit" name="resultrans" value="V">Payer par prélèvement</button>
<button class="other" type="submit" name="resultrans" value="R">Carte refusée</button>
<button class="other" type="submit" name="resultrans" value="A">Abandonner</button>
</div>
</form>
{{template "foot"}}{{end}}
{{define "ticket"}}{{template "head" .}}
<h1 class="{{if .Paid}}ok{{else}}ko{{end}}">{{.Heading}}</h1>
<dl>
<dt>Créancier</dt><dd>{{.Org1}}</dd>
<dt>Référence</dt><dd>{{.P.Refdet}}</dd>
<dt>Montant</dt><dd>{{.Amount}}</dd>
{{if .P.Numauto}}<dt>N° d'autorisation</dt><dd>{{.P.Numauto}}</dd>{{end}}
<dt>Date</dt><dd>{{.When}}</dd>
</dl>
{{if .Paid}}<p>Un ticket de paiement vous sera adressé par courriel.</p>{{end}}
<a class="back" href="{{.Return}}">Retour au site</a>
{{template "foot"}}{{end}}
{{define "error"}}{{template "head" .}}
<h1 class="ko">{{.Title}}</h1>
<p>{{.Message}}</p>
{{template "foot"}}{{end}}
`))

type pageData struct {
	Title, Heading, Message string
	P                       SimPayment
	Org1, Org2              string
	Amount, When            string
	Paid                    bool
	Return                  string // template.HTML-safe: html/template escapes the attribute
}

// formatEuros renders cents the French way: 1234550 → "12 345,50 €".
func formatEuros(montant string) string {
	cents, err := strconv.ParseInt(montant, 10, 64)
	if err != nil || cents < 0 {
		return montant
	}
	euros := strconv.FormatInt(cents/100, 10)
	var b strings.Builder
	for i, c := range euros {
		if i > 0 && (len(euros)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String() + "," + strconv.FormatInt(cents%100+100, 10)[1:] + " €"
}

func (s *Simulator) pageData(p SimPayment) pageData {
	c := s.clients[p.Numcli]
	return pageData{P: p, Org1: c.LibelleN1, Org2: c.LibelleN2, Amount: formatEuros(p.Montant)}
}

func (s *Simulator) handlePage(w http.ResponseWriter, r *http.Request) {
	idOp := r.URL.Query().Get("idop")
	p, ok := s.Payment(idOp)
	if !ok {
		s.errorPage(w, http.StatusNotFound, "Paiement introuvable",
			"Ce lien de paiement est inconnu ou a expiré (il n'est valable que 15 minutes). Retournez sur le site de votre collectivité pour recommencer.")
		return
	}
	if p.finished() {
		s.ticketPage(w, p)
		return
	}
	d := s.pageData(p)
	d.Title = "Paiement en ligne"
	s.render(w, http.StatusOK, "page", d)
}

func (s *Simulator) handlePageSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "Requête invalide", "Le formulaire envoyé est illisible.")
		return
	}
	p, err := s.pay(r.PostForm.Get("idop"), r.PostForm.Get("resultrans"))
	switch {
	case err == nil, errors.Is(err, ErrAlreadyFinished):
		s.ticketPage(w, p) // a second submission shows the recorded result, unchanged
	case errors.Is(err, ErrBadResult):
		s.errorPage(w, http.StatusBadRequest, "Requête invalide", "Choix de paiement inconnu.")
	default:
		s.errorPage(w, http.StatusNotFound, "Paiement introuvable",
			"Ce lien de paiement est inconnu ou a expiré (il n'est valable que 15 minutes). Retournez sur le site de votre collectivité pour recommencer.")
	}
}

func (s *Simulator) ticketPage(w http.ResponseWriter, p SimPayment) {
	d := s.pageData(p)
	switch p.Resultrans {
	case "P":
		d.Title, d.Heading, d.Paid = "Paiement accepté", "Votre paiement par carte a été accepté", true
	case "V":
		d.Title, d.Heading, d.Paid = "Paiement accepté", "Votre paiement par prélèvement a été enregistré", true
	case "R":
		d.Title, d.Heading = "Paiement refusé", "Votre paiement par carte a été refusé"
	case "Z":
		d.Title, d.Heading = "Paiement refusé", "Votre prélèvement a été refusé"
	default:
		d.Title, d.Heading = "Paiement abandonné", "Vous avez abandonné le paiement"
	}
	d.When = p.FinishedAt.In(s.paris).Format("02/01/2006 à 15:04")
	d.Return = returnURL(p.URLRedirect, p.IDOp)
	s.render(w, http.StatusOK, "ticket", d)
}

func returnURL(base, idOp string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	q.Set("idop", idOp)
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Simulator) errorPage(w http.ResponseWriter, status int, title, msg string) {
	s.render(w, status, "error", pageData{Title: title, Message: msg})
}

func (s *Simulator) render(w http.ResponseWriter, status int, name string, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, d); err != nil {
		s.log.Warn("payfip sim: rendering page")
	}
}
