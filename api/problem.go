package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/enfance/enfance/accounts"
	"github.com/enfance/enfance/attendance"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/check"
	"github.com/enfance/enfance/contact"
	"github.com/enfance/enfance/document"
	"github.com/enfance/enfance/families"
	"github.com/enfance/enfance/invoice"
	"github.com/enfance/enfance/ledger"
	"github.com/enfance/enfance/orgs"
	"github.com/enfance/enfance/password"
	"github.com/enfance/enfance/services"
	"github.com/enfance/enfance/waitlist"
)

// Problem is an RFC 9457 problem document. Type is stable for clients; Title is
// French, for families.
type Problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Errors   []FieldError   `json:"errors,omitempty"`
	Extra    map[string]any `json:"-"`
	// Header: response headers that go with it (Retry-After …).
	Header map[string]string `json:"-"`
}

// FieldError points at one bad input.
type FieldError = check.Field

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

const problemBase = "https://enfance.fr/problems/"

func problem(status int, slug, title, detail string) *Problem {
	return &Problem{Type: problemBase + slug, Title: title, Status: status, Detail: detail}
}

var (
	errUnauthorized = problem(http.StatusUnauthorized, "unauthorized", "Authentification requise", "Connectez-vous pour continuer.")
	errForbidden    = problem(http.StatusForbidden, "forbidden", "Accès refusé", "Votre compte ne permet pas cette action.")
	errNotFound     = problem(http.StatusNotFound, "not-found", "Introuvable", "Cette ressource n'existe pas.")
	errBadLogin     = problem(http.StatusUnauthorized, "invalid-credentials", "Identifiant ou mot de passe incorrect", "Vérifiez votre identifiant et votre mot de passe.")
	errCSRF         = problem(http.StatusForbidden, "csrf", "Requête refusée", "Jeton anti-falsification (X-CSRF-Token) manquant ou invalide.")
)

func badRequest(detail string, fields ...FieldError) *Problem {
	p := problem(http.StatusBadRequest, "invalid-request", "Requête invalide", detail)
	p.Errors = fields
	return p
}

// statusClientClosedRequest is nginx's code for a request its client abandoned.
const statusClientClosedRequest = 499

// fail writes err as problem+json. Errors that are not problems are logged and
// answered as 500 or 503 without their text: it may hold internals.
func fail(c *gin.Context, log *zap.Logger, err error) {
	p := problemOf(err)
	if p == nil && c.Request.Context().Err() != nil {
		// The client went away, and its queries and waits were cancelled with it:
		// not a fault of ours. Nobody reads this answer; 499 tells it apart in metrics.
		log.Info("request abandoned by the client", zap.String("path", c.FullPath()), zap.Error(err))
		c.AbortWithStatus(statusClientClosedRequest)
		return
	}
	if p == nil {
		log.Error("request failed", zap.String("path", c.FullPath()), zap.Error(err))
		p = problem(http.StatusInternalServerError, "internal", "Erreur interne", "Une erreur inattendue est survenue ; réessayez plus tard.")
		if isUnavailable(err) {
			p = problem(http.StatusServiceUnavailable, "unavailable", "Service momentanément indisponible", "Réessayez dans quelques instants.")
			c.Header("Retry-After", "2")
		}
	}
	out := *p
	out.Instance = c.Request.URL.Path
	for k, v := range out.Header {
		c.Header(k, v)
	}
	c.Header("Content-Type", "application/problem+json")
	body := gin.H{"type": out.Type, "title": out.Title, "status": out.Status, "instance": out.Instance}
	if out.Detail != "" {
		body["detail"] = out.Detail
	}
	if len(out.Errors) > 0 {
		body["errors"] = out.Errors
	}
	for k, v := range out.Extra {
		body[k] = v
	}
	c.AbortWithStatusJSON(out.Status, body)
}

// problemOf is the answer to a domain package's error, nil for an error that is
// not the caller's (a bug, or a dependency down): each package's errors are
// mapped here, once.
func problemOf(err error) *Problem {
	var (
		p       *Problem
		invalid *check.Error
		tooLow  *ledger.TooLowError
	)
	var (
		wait       *accounts.WaitError
		weak       *password.Weakness
		loginTaken *families.LoginTakenError
		quota      *contact.QuotaError
		capacity   *services.CapacityError
		late       *cart.TooLateError
		marks      *attendance.RefusedError
		rule       *attendance.RuleError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &invalid):
		return badRequest(invalid.Detail, invalid.Fields...)
	case errors.As(err, &quota):
		return attachmentQuota(quota)
	case errors.Is(err, cart.ErrNotOpen):
		return errCartBusy
	case errors.Is(err, cart.ErrAlreadyCancelled):
		return errAlreadyCancelled
	case errors.As(err, &late):
		p := problem(http.StatusConflict, "cancellation-deadline-passed", "Délai d'annulation dépassé", late.Message())
		p.Extra = map[string]any{"cancellation_deadline": late.Deadline}
		return p
	case errors.Is(err, cart.ErrLateCreditForbidden):
		p := problem(http.StatusForbidden, "late-credit-forbidden", "Remboursement hors délai réservé aux finances",
			"Le délai d'annulation est dépassé : seul un régisseur ou un administrateur peut rendre le montant. Annulez sans remboursement, ou demandez-le aux finances.")
		p.Errors = []FieldError{{Field: "credit", Message: "réservé au rôle finances ou administrateur après le délai"}}
		return p
	case errors.Is(err, cart.ErrReasonRequired):
		return badRequest("Le délai d'annulation est dépassé : indiquez un motif pour annuler quand même.",
			FieldError{Field: "reason", Message: "motif requis après le délai"})
	case errors.Is(err, attendance.ErrNotScheduled):
		return problem(http.StatusConflict, "day-not-scheduled", "Jour sans service",
			"Le service ne fonctionne pas ce jour-là : ouvrez d'abord le jour dans son calendrier.")
	case errors.Is(err, attendance.ErrFutureDay):
		return problem(http.StatusConflict, "day-to-come", "Jour à venir",
			"On ne pointe que les enfants d'un jour passé ou d'aujourd'hui.")
	case errors.As(err, &marks):
		p := problem(http.StatusConflict, "marks-refused", "Pointage refusé",
			"Rien n'a été enregistré : corrigez les enfants signalés puis enregistrez de nouveau.")
		for _, r := range marks.Refusals {
			p.Errors = append(p.Errors, FieldError{Field: "marks[" + strconv.Itoa(r.Index) + "]", Message: r.Message, Reason: r.Reason})
		}
		return p
	case errors.As(err, &rule):
		return badRequest("Règle invalide.", FieldError{Field: rule.Field, Message: rule.Message})
	case errors.Is(err, waitlist.ErrClosed):
		return problem(http.StatusConflict, "waitlist-entry-closed", "Inscription terminée",
			"Cette inscription sur liste d'attente est terminée (place obtenue, ou proposition expirée).")
	case errors.Is(err, waitlist.ErrListChanged):
		return problem(http.StatusConflict, "waitlist-changed", "La liste a changé",
			"La liste d'attente a changé depuis son affichage (inscription, départ ou proposition) : rechargez-la puis recommencez.")
	case errors.Is(err, waitlist.ErrReasonNeeded):
		return badRequest("Indiquez un motif.", FieldError{Field: "reason", Message: "motif requis"})
	case errors.Is(err, cart.ErrNotSettled):
		return problem(http.StatusConflict, "payment-not-settled", "Paiement non abouti", "Ce paiement n'a pas abouti : il n'a pas d'attestation.")
	case errors.As(err, &capacity):
		p := problem(http.StatusConflict, "capacity-below-taken", "Capacité inférieure aux places prises",
			"Aucun jour n'a été modifié : certaines capacités sont inférieures aux places déjà réservées ou dans un panier.")
		p.Errors = capacity.Fields
		return p
	case errors.Is(err, services.ErrCodeTaken):
		return problem(http.StatusConflict, "service-code-taken", "Code déjà utilisé", "Un autre service porte déjà ce code.")
	case errors.Is(err, services.ErrExists):
		return problem(http.StatusConflict, "closure-exists", "Fermeture déjà enregistrée",
			"Une fermeture commence déjà ce jour-là avec ce libellé.")
	case errors.Is(err, accounts.ErrNotFound), errors.Is(err, services.ErrNotFound), errors.Is(err, cart.ErrNotFound), errors.Is(err, families.ErrNotFound), errors.Is(err, contact.ErrNotFound),
		errors.Is(err, invoice.ErrNotFound), errors.Is(err, attendance.ErrNotFound), errors.Is(err, waitlist.ErrNotFound):
		return errNotFound
	case errors.Is(err, accounts.ErrUnauthorized):
		return errUnauthorized
	case errors.Is(err, accounts.ErrBadLogin):
		return errBadLogin
	case errors.As(err, &wait):
		return tooManyAttempts(wait.Wait)
	case errors.As(err, &weak):
		p := problem(http.StatusBadRequest, "weak-password", "Mot de passe refusé", weak.Message)
		p.Errors = []FieldError{{Field: "new_password", Message: weak.Message, Reason: weak.Code}}
		return p
	case errors.Is(err, accounts.ErrBadToken):
		return problem(http.StatusBadRequest, "invalid-token", "Lien invalide ou expiré",
			"Ce lien n'est plus valable (il a déjà servi ou a expiré). Demandez-en un nouveau avec « mot de passe oublié ».")
	case errors.Is(err, accounts.ErrWrongPassword):
		p := problem(http.StatusBadRequest, "wrong-password", "Mot de passe actuel incorrect", "Le mot de passe actuel saisi est incorrect.")
		p.Errors = []FieldError{{Field: "current_password", Message: "incorrect"}}
		return p
	case errors.As(err, &loginTaken):
		p := loginTakenProblem()
		p.Errors = []FieldError{{Field: loginTaken.Field, Message: "déjà utilisé"}}
		return p
	case errors.Is(err, accounts.ErrLoginTaken):
		return loginTakenProblem()
	case errors.Is(err, accounts.ErrDisabled):
		return problem(http.StatusConflict, "account-disabled", "Compte désactivé",
			"Ce compte est désactivé : réactivez-le avant d'envoyer un lien.")
	case errors.Is(err, accounts.ErrLastAdmin):
		return problem(http.StatusConflict, "last-admin", "Dernier administrateur", "L'organisation doit garder au moins un administrateur actif.")
	case errors.Is(err, families.ErrQFForbidden):
		return &Problem{Type: problemBase + "qf-forbidden", Title: "Quotient familial réservé aux finances", Status: http.StatusForbidden,
			Detail: "Seul un régisseur ou un administrateur peut changer le quotient familial d'une famille : il fixe ses tarifs.",
			Errors: []FieldError{{Field: "qf", Message: "modifiable par le rôle finances ou administrateur"}}}
	case errors.Is(err, families.ErrTooMany):
		return problem(http.StatusConflict, "too-many-authorized-persons", "Trop de personnes autorisées",
			fmt.Sprintf("Une famille peut déclarer %d personnes autorisées au plus ; retirez-en une d'abord.", families.MaxAuthorizedPersons))
	case errors.Is(err, orgs.ErrPasswordRequired):
		return &Problem{Type: problemBase + "password-required", Title: "Mot de passe requis", Status: http.StatusForbidden,
			Detail: "Changer le numéro client PayFiP ou le mode de saisie demande votre mot de passe : ils décident où va l'argent des familles et s'il est réellement encaissé.",
			Errors: []FieldError{{Field: "current_password", Message: "requis pour changer numcli ou saisie"}}}
	case errors.Is(err, orgs.ErrTestModeInProduction):
		return &Problem{Type: problemBase + "test-mode-in-production", Title: "Mode test interdit en production", Status: http.StatusConflict,
			Detail: "En production, le mode de saisie ne peut pas passer à T (test) : un paiement de test n'encaisse rien, et les familles croiraient avoir payé. Utilisez W (production), ou X pendant l'activation si PayFiP vous l'a demandé.",
			Errors: []FieldError{{Field: "saisie", Message: "T interdit en production"}}}
	case errors.Is(err, ledger.ErrNotFound):
		return errNotFound
	case errors.Is(err, ledger.ErrKeyReused):
		return errIdempotencyReuse
	case errors.As(err, &tooLow) && tooLow.Target == "credit":
		return problem(http.StatusConflict, "balance-too-low", "Cagnotte insuffisante",
			"La cagnotte disponible est de "+document.Euros(tooLow.AvailableCents)+" : elle ne peut pas devenir négative.")
	case errors.As(err, &tooLow):
		return problem(http.StatusConflict, "balance-too-low", "Solde dû insuffisant",
			"Le solde dû est de "+document.Euros(tooLow.AvailableCents)+" : il ne peut pas devenir négatif. Pour rendre de l'argent à la famille, créditez sa cagnotte.")
	}
	return nil
}

func loginTakenProblem() *Problem {
	return problem(http.StatusConflict, "login-taken", "Identifiant déjà utilisé", "Un compte existe déjà avec cet identifiant (e-mail).")
}
