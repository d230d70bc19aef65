package api

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.uber.org/zap"

	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/workflows"
)

// idOpOf reads the idOp PayFiP sends, in the query or a form body, spelt idOp or idop.
func idOpOf(c *gin.Context) string {
	for _, k := range []string{"idOp", "idop", "IDOP", "IdOp"} {
		if v := strings.TrimSpace(c.Query(k)); v != "" {
			return v
		}
		if v := strings.TrimSpace(c.PostForm(k)); v != "" {
			return v
		}
	}
	return ""
}

// callbackAllowed sheds floods of PayFiP callbacks before they reach PostgreSQL:
// each client address gets PAYFIP_NOTIFY_PER_SECOND a second (bursts of five
// times that; PayFiP's servers notify for every org, so this is not small), and
// each idOp one per PAYFIP_NOTIFY_COOLDOWN. An address over its rate is refused
// (429); a callback for an idOp that this process relayed a moment ago is
// answered as relayed — it would change nothing (see relay).
func (s *Server) callbackAllowed(c *gin.Context) (allowed, relay bool) {
	now := s.now()
	if !s.callbackAddresses.allow(addressKey(c.ClientIP()), now) {
		return false, false
	}
	if idOp := idOpOf(c); idOp != "" && len(idOp) <= 64 && !s.callbackIDOps.allow(idOp, now) {
		return true, false
	}
	return true, true
}

var errTooManyCallbacks = problem(http.StatusTooManyRequests, "too-many-requests", "Trop de requêtes",
	"Trop de requêtes depuis cette adresse ; réessayez dans quelques secondes.")

// relay tells the attempt's workflow to go and read the result from PayFiP. Nothing in
// the request is trusted beyond the idOp, and an idOp we did not create changes
// nothing. Callbacks are coalesced: the first wakes the workflow, and any other
// for the same attempt within PAYFIP_NOTIFY_COOLDOWN (whichever API replica gets
// it) writes nothing and wakes nobody, since the workflow is already reading
// PayFiP or has just read it. A callback whose signal failed records nothing
// (see cart.Store.Wake) and is answered 503, so that the next one wakes it. It
// returns the attempt when there is one.
func (s *Server) relay(c *gin.Context) (*db.PaymentAttempt, error) {
	idOp := idOpOf(c)
	if idOp == "" || len(idOp) > 64 {
		s.log.Warn("payfip callback without a usable idOp", zap.String("path", c.Request.URL.Path), zap.String("ip", c.ClientIP()))
		return nil, nil
	}
	att, err := s.carts.AttemptByIDOp(c, idOp)
	if errors.Is(err, cart.ErrNotFound) {
		s.log.Warn("payfip callback for an unknown idOp", zap.String("idop", idOp), zap.String("ip", c.ClientIP()))
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	woken, reopened, err := s.wakeAttempt(c, att, cart.ByCallback)
	if err != nil {
		// Nothing recorded: the next callback for this idOp, here too, wakes it.
		s.callbackIDOps.forget(idOp)
		return nil, err
	}
	// Closed without a payment, yet PayFiP calls back: it may have taken the money
	// after all. Reconciliation reads it again (and only it decides).
	if woken && reopened {
		s.log.Warn("payfip callback for an attempt closed without payment: reconciliation will read it again",
			zap.String("idop", idOp), zap.String("attempt", att.ID.String()), zap.String("status", string(att.Status)))
	}
	return &att, nil
}

// wakeAttempt tells att's workflow to go and read PayFiP's answer now, unless
// another wake-up did less than PAYFIP_NOTIFY_COOLDOWN ago (see cart.Store.Wake:
// recorded only once the signal has arrived).
func (s *Server) wakeAttempt(c *gin.Context, att db.PaymentAttempt, by cart.Waker) (woken, reopened bool, err error) {
	wf := attemptWorkflow(att)
	return s.carts.Wake(c, att, by, s.cfg.PayFiPNotifyCooldown, func(ctx context.Context) error {
		err := s.temporal.SignalWorkflow(ctx, wf, "", workflows.PayFiPSignal, *att.IDOp)
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			// The attempt's workflow has ended; reconciliation settles what is left.
			s.log.Warn("payfip wake-up for an ended workflow", zap.String("idop", *att.IDOp), zap.String("workflow", wf))
			return nil
		}
		return err
	})
}

func (s *Server) payfipNotify(c *gin.Context) {
	allowed, relay := s.callbackAllowed(c)
	if !allowed {
		fail(c, s.log, errTooManyCallbacks)
		return
	}
	if relay {
		if _, err := s.relay(c); err != nil {
			// PayFiP does not retry reliably; reconciliation will poll this attempt.
			s.log.Error("payfip notification not relayed", zap.String("idop", idOpOf(c)), zap.Error(err))
			c.String(http.StatusServiceUnavailable, "retry")
			return
		}
	}
	c.String(http.StatusOK, "OK")
}

// payfipReturn is the payer's browser coming back: handled like a notification, then
// sent to the result page (or answered in JSON for API clients).
func (s *Server) payfipReturn(c *gin.Context) {
	api := strings.Contains(c.GetHeader("Accept"), "application/json")
	var att *db.PaymentAttempt
	switch allowed, relay := s.callbackAllowed(c); {
	case !allowed && api:
		fail(c, s.log, errTooManyCallbacks)
		return
	case relay:
		var err error
		if att, err = s.relay(c); err != nil {
			s.log.Error("payfip return not relayed", zap.String("idop", idOpOf(c)), zap.Error(err))
		}
	case allowed && api:
		// Relayed a moment ago: the answer still says where the payment is.
		if a, err := s.carts.AttemptByIDOp(c, idOpOf(c)); err == nil {
			att = &a
		}
	}
	// A browser over the rate still goes to the result page, which follows the
	// payment with the family's session.
	result := "/paiement/resultat?idop=" + url.QueryEscape(idOpOf(c))
	if api {
		// What PostgreSQL knows now; the workflow may settle it a moment later,
		// which GET /payments (or this result URL) shows.
		out := gin.H{"status": "unknown"}
		if att != nil {
			out = gin.H{"status": returnStatus(att.Status), "payment_id": att.ID, "kind": att.Kind, "cart_id": att.CartID, "result_url": result}
		}
		c.JSON(http.StatusOK, out)
		return
	}
	// Browsers go back to the portal, whose result route (#/paiement) follows the
	// payment through the family's API with its session; the fragment keeps the
	// idOp out of access logs.
	c.Redirect(http.StatusSeeOther, "/#/paiement?idop="+url.QueryEscape(idOpOf(c)))
}

// returnStatus names an attempt's state for API clients coming back from PayFiP.
func returnStatus(status db.AttemptStatus) string {
	switch status {
	case db.AttemptStatusPaid, db.AttemptStatusRefused, db.AttemptStatusAbandoned, db.AttemptStatusExpired:
		return string(status)
	case db.AttemptStatusError:
		return "failed"
	}
	return "processing"
}

var resultPage = template.Must(template.New("result").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
{{if .Refresh}}<meta http-equiv="refresh" content="3">{{end}}
<title>{{.Title}} – Portail famille</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
.box{border-radius:8px;padding:1.5rem;background:{{.Color}}}a{color:#000091}</style></head>
<body><main><div class="box" role="status"><h1>{{.Title}}</h1><p>{{.Text}}</p></div>
<p><a href="/">Retour au portail famille</a></p></main></body></html>`))

// paymentResultPage tells the payer what became of the payment, from PostgreSQL.
func (s *Server) paymentResultPage(c *gin.Context) {
	data := struct {
		Title, Text, Color string
		Refresh            bool
	}{"Paiement inconnu", "Nous ne retrouvons pas ce paiement.", "#fee", false}
	if idOp := idOpOf(c); idOp != "" {
		if att, err := s.carts.AttemptByIDOp(c, idOp); err == nil {
			kept := "Votre panier est conservé : vous pouvez réessayer."
			done := "Votre paiement a été effectué, vos réservations également !"
			if att.Kind == db.AttemptKindBalance {
				kept, done = "Votre solde reste à régler : vous pouvez réessayer.", "Votre paiement a été effectué : votre solde est réglé."
			}
			switch att.Status {
			case db.AttemptStatusPaid:
				data.Title, data.Text, data.Color = "Paiement effectué", done, "#e6f4ea"
			case db.AttemptStatusRefused:
				data.Title, data.Text, data.Color = "Paiement refusé", "Votre paiement a été refusé. "+kept, "#fee"
			case db.AttemptStatusAbandoned, db.AttemptStatusExpired, db.AttemptStatusError:
				data.Title, data.Text, data.Color = "Paiement non effectué", "Le paiement n'a pas abouti. "+kept, "#fff4e5"
			default:
				data.Title, data.Text, data.Color, data.Refresh = "Paiement en cours de vérification", "Nous vérifions votre paiement auprès de PayFiP ; cette page se met à jour.", "#eef", true
			}
		}
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	_ = resultPage.Execute(c.Writer, data)
}
