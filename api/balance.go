package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/workflows"
)

// The outstanding balance paid alone ("Régler mon solde"), and the family's
// payments followed one by one (the result page after PayFiP, "Abandonner ce
// paiement").

func (s *Server) paymentRoutes(r routes) {
	r.fam.GET("/balance", s.getBalance)
	r.fam.POST("/balance/checkout", s.balanceCheckout)
	r.fam.GET("/payments/:id", s.getPayment)
	r.fam.POST("/payments/:id/abandon", s.abandonPayment)
	r.fam.POST("/payments/:id/check", s.checkPayment)
	r.fam.GET("/payments/:id/receipt.pdf", s.receiptPDF)
}

type balanceJSON struct {
	OutstandingCents int64 `json:"outstanding_cents"` // what the family owes
	CreditCents      int64 `json:"credit_cents"`      // its cagnotte
	// What POST /balance/checkout would ask now: the balance not already being
	// paid, less the cagnotte it uses.
	DueCents           int64                   `json:"due_cents"`
	CreditAppliedCents int64                   `json:"credit_applied_cents"`
	MinimumOnlineCents int64                   `json:"minimum_online_cents"`
	CanPay             bool                    `json:"can_pay"`
	Refusal            *refusalJSON            `json:"refusal,omitempty"` // why it cannot be paid alone now
	InProgress         []paymentInProgressJSON `json:"payments_in_progress"`
}

type refusalJSON struct {
	Type    string `json:"type"` // nothing-due, balance-payment-in-progress, balance-under-minimum
	Message string `json:"message"`
}

// getBalance tells the family what it owes and whether paying it alone is possible.
func (s *Server) getBalance(c *gin.Context) {
	v, err := s.carts.Balance(c, callerOf(c).family())
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := balanceJSON{
		OutstandingCents: v.OutstandingCents, CreditCents: v.CreditCents, DueCents: v.Quote.TotalDueCents,
		CreditAppliedCents: v.Quote.CreditAppliedCents, MinimumOnlineCents: booking.MinOnlinePaymentCents,
		InProgress: make([]paymentInProgressJSON, 0, len(v.InProgress)),
	}
	if code, msg := booking.BalanceRefusal(v.OutstandingCents, v.Quote); code != "" {
		out.Refusal = &refusalJSON{Type: code, Message: msg}
	} else {
		out.CanPay = true
	}
	for _, att := range v.InProgress {
		out.InProgress = append(out.InProgress, *s.inProgress(att))
	}
	c.JSON(http.StatusOK, out)
}

// refusal answers a refusal of the catalogue (booking.RefusalTitle) with the
// sentence the family reads.
func refusal(code, message string) *Problem {
	return problem(http.StatusConflict, code, booking.RefusalTitle(code), message)
}

// balanceCheckout pays the outstanding balance alone: its own workflow
// (balance:<payment id>), never the cart's, whose lines stay as they are. The
// same Idempotency-Key names the same payment, so a retried request joins it.
func (s *Server) balanceCheckout(c *gin.Context) {
	f := callerOf(c).family()
	key, ok := optionalIdempotencyKey(c)
	if !ok {
		fail(c, s.log, errIdempotencyKeyInvalid)
		return
	}
	v, err := s.carts.Balance(c, f)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	id, retried := uuid.New(), false
	if key != "" {
		id = uuid.NewSHA1(f.ID, []byte("balance:"+key))
		_, err := s.carts.Payment(c, f, id)
		retried = err == nil // the same request again: its payment's answer, below
	}
	// Asked here for a clear answer without starting anything; the workflow's
	// activity asks again under the family's lock.
	if code, msg := booking.BalanceRefusal(v.OutstandingCents, v.Quote); code != "" && !retried {
		fail(c, s.log, refusal(code, msg))
		return
	}
	start := s.temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       workflows.BalanceWorkflowID(id),
		TaskQueue:                s.cfg.TemporalTaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:            "Règlement du solde " + id.String(),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.OrgIDKey.ValueSet(f.OrgID.String()),
			workflows.FamilyIDKey.ValueSet(f.ID.String()),
			workflows.PaymentStatusKey.ValueSet(workflows.PaymentPreparing),
			workflows.AmountDueCentsKey.ValueSet(v.Quote.TotalDueCents),
		),
	}, workflows.BalancePaymentWorkflow, workflows.BalanceInput{PaymentID: id, OrgID: f.OrgID, FamilyID: f.ID})
	handle, err := s.temporal.UpdateWithStartWorkflow(c, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID: "checkout", UpdateName: workflows.CheckoutUpdate, WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	var res workflows.CheckoutResult
	if err == nil {
		err = handle.Get(c, &res)
	}
	var appErr *temporal.ApplicationError
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeBalanceRefused:
		var code string
		_ = appErr.Details(&code)
		fail(c, s.log, refusal(code, appErr.Message()))
		return
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeCheckoutRefused:
		fail(c, s.log, problem(http.StatusConflict, "checkout-refused", "Paiement impossible", appErr.Message()))
		return
	case errors.As(err, &already):
		fail(c, s.log, problem(http.StatusConflict, "payment-finished", "Paiement terminé",
			"Ce paiement est terminé : consultez vos règlements, ou lancez un nouveau paiement."))
		return
	case err != nil:
		fail(c, s.log, err)
		return
	}
	out := gin.H{"status": res.Status, "payment_id": res.AttemptID, "amount_due_cents": res.AmountDueCents}
	if res.PaymentURL != "" {
		out["payment_url"] = res.PaymentURL
	}
	c.JSON(http.StatusOK, out)
}

type paymentJSONView struct {
	ID                    uuid.UUID      `json:"id"`
	Kind                  db.AttemptKind `json:"kind"` // cart, or balance (paid alone)
	CartID                *uuid.UUID     `json:"cart_id,omitempty"`
	Status                string         `json:"status"` // processing, paid, confirmed, credited, not_paid
	Reason                string         `json:"reason,omitempty"`
	AmountCents           int64          `json:"amount_cents"`
	CarriedToBalanceCents int64          `json:"carried_to_balance_cents,omitempty"`
	CreditedCents         int64          `json:"credited_cents,omitempty"`
	PaymentURL            string         `json:"payment_url,omitempty"`
	ReceiptURL            string         `json:"receipt_url,omitempty"`
	CreatedAt             time.Time      `json:"created_at"`
}

func (s *Server) paymentView(v cart.PaymentView) paymentJSONView {
	att := v.Attempt
	out := paymentJSONView{
		ID: att.ID, Kind: att.Kind, CartID: att.CartID, Status: v.Status, Reason: v.Reason,
		AmountCents: att.AmountCents, CreditedCents: v.CreditedCents, CreatedAt: att.CreatedAt,
	}
	switch v.Status {
	case cart.PaymentProcessing:
		out.PaymentURL = s.inProgress(att).PaymentURL
	case cart.PaymentConfirmed:
		out.CarriedToBalanceCents = att.AmountCents
		fallthrough
	case cart.PaymentPaid, cart.PaymentCredited:
		out.ReceiptURL = "/api/v1/payments/" + att.ID.String() + "/receipt.pdf"
	}
	return out
}

func (s *Server) familyPayment(c *gin.Context) (cart.PaymentView, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return cart.PaymentView{}, false
	}
	v, err := s.carts.Payment(c, callerOf(c).family(), id)
	if errors.Is(err, cart.ErrNotFound) {
		err = errNotFound
	}
	if err != nil {
		fail(c, s.log, err)
		return v, false
	}
	return v, true
}

// getPayment is what became of one of the family's payments.
func (s *Server) getPayment(c *gin.Context) {
	if v, ok := s.familyPayment(c); ok {
		c.JSON(http.StatusOK, s.paymentView(v))
	}
}

// checkPayment: the result page, for a payment still in progress, asks for
// PayFiP's answer to be read again — the family is back from PayFiP but its
// notification was lost and its return shed (a school's network over the
// callbacks' rate) or lost. The workflow reads PayFiP itself: nothing of the
// request is trusted, and whoever asks, it is woken at most once per
// PAYFIP_NOTIFY_COOLDOWN. Answered 202 with the payment as it stands.
func (s *Server) checkPayment(c *gin.Context) {
	v, ok := s.familyPayment(c)
	if !ok {
		return
	}
	if v.Status == cart.PaymentProcessing && v.Attempt.IDOp != nil {
		if _, _, err := s.wakeAttempt(c, v.Attempt, cart.ByResultPage); err != nil {
			fail(c, s.log, err)
			return
		}
	}
	c.JSON(http.StatusAccepted, s.paymentView(v))
}

// abandonPayment gives up a payment in progress ("Abandonner ce paiement et
// modifier mon panier"): its workflow closes it at once and reopens the cart; the
// answer is the payment as it ended (not_paid, or paid when PayFiP had taken the
// money after all). Money PayFiP takes for it later is credited by reconciliation.
func (s *Server) abandonPayment(c *gin.Context) {
	v, ok := s.familyPayment(c)
	if !ok {
		return
	}
	att := v.Attempt
	handle, err := s.temporal.UpdateWorkflow(c, client.UpdateWorkflowOptions{
		WorkflowID: attemptWorkflow(att), UpdateID: "abandon:" + att.ID.String(),
		UpdateName: workflows.AbandonUpdate, WaitForStage: client.WorkflowUpdateStageCompleted, Args: []any{att.ID.String()},
	})
	var res workflows.AbandonResult
	if err == nil {
		err = handle.Get(c, &res)
	}
	var appErr *temporal.ApplicationError
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeCheckoutRefused, errors.As(err, &notFound):
		fail(c, s.log, problem(http.StatusConflict, "nothing-to-abandon", "Aucun paiement en cours",
			"Ce paiement n'est plus en cours : il vient d'aboutir, ou il est déjà abandonné."))
		return
	case err != nil:
		fail(c, s.log, err)
		return
	}
	if v, ok = s.familyPayment(c); ok {
		c.JSON(http.StatusOK, s.paymentView(v))
	}
}

// attemptWorkflow is the workflow following a payment attempt.
func attemptWorkflow(att db.PaymentAttempt) string {
	var cartID uuid.UUID
	if att.CartID != nil {
		cartID = *att.CartID
	}
	return workflows.AttemptWorkflowID(att.Kind, cartID, att.ID)
}
