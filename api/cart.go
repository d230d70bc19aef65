package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/waitlist"
	"github.com/enfance/enfance/workflows"
)

type cartItemJSON struct {
	ID         uuid.UUID `json:"id"`
	ChildID    uuid.UUID `json:"child_id"`
	ServiceID  uuid.UUID `json:"service_id"`
	Date       string    `json:"date"`
	PriceCents int64     `json:"price_cents"`
	// A place offered from the day's waiting list: held until offer_expires_at.
	OfferExpiresAt  *time.Time `json:"offer_expires_at,omitempty"`
	WaitlistEntryID *uuid.UUID `json:"waitlist_entry_id,omitempty"`
}

type cartJSON struct {
	ID        *uuid.UUID `json:"id"`
	Status    string     `json:"status"`
	ExpiresAt *time.Time `json:"expires_at"`
	// How long a cart holds its days once created (CART_TTL), in seconds.
	HoldSeconds           int64          `json:"hold_seconds"`
	Items                 []cartItemJSON `json:"items"`
	SubtotalCents         int64          `json:"subtotal_cents"`
	CreditAppliedCents    int64          `json:"credit_applied_cents"`
	OutstandingAddedCents int64          `json:"outstanding_added_cents"`
	TotalDueCents         int64          `json:"total_due_cents"`
	// While the cart checks out: the payment in progress, to go back to its PayFiP
	// page or to abandon it (POST /payments/{id}/abandon).
	Payment *paymentInProgressJSON `json:"payment,omitempty"`
}

type paymentInProgressJSON struct {
	ID          uuid.UUID `json:"id"`
	AmountCents int64     `json:"amount_cents"`
	PaymentURL  string    `json:"payment_url,omitempty"` // once PayFiP created it
	CreatedAt   time.Time `json:"created_at"`
}

func (s *Server) inProgress(att db.PaymentAttempt) *paymentInProgressJSON {
	p := &paymentInProgressJSON{ID: att.ID, AmountCents: att.AmountCents, CreatedAt: att.CreatedAt}
	if att.IDOp != nil && (att.Status == db.AttemptStatusCreated || att.Status == db.AttemptStatusPending) {
		p.PaymentURL = payfip.PaymentPageURL(s.cfg.PayFiPPaymentURL, *att.IDOp)
	}
	return p
}

func (s *Server) cartView(c *gin.Context) (cartJSON, bool) {
	v, err := s.carts.Get(c, callerOf(c).family())
	if err != nil {
		fail(c, s.log, err)
		return cartJSON{}, false
	}
	out := cartJSON{
		Status: "empty", Items: make([]cartItemJSON, 0, len(v.Lines)), HoldSeconds: int64(s.cfg.CartTTL / time.Second),
		SubtotalCents: v.Totals.SubtotalCents, CreditAppliedCents: v.Totals.CreditAppliedCents,
		OutstandingAddedCents: v.Totals.OutstandingAddedCents, TotalDueCents: v.Totals.TotalDueCents,
	}
	offers := map[uuid.UUID]waitlist.CartOffer{}
	if v.Cart != nil {
		out.ID, out.Status, out.ExpiresAt = &v.Cart.ID, string(v.Cart.Status), &v.Cart.ExpiresAt
		if offers, err = s.waitlists.CartOffers(c, v.Cart.ID); err != nil {
			fail(c, s.log, err)
			return cartJSON{}, false
		}
	}
	if v.Attempt != nil {
		out.Payment = s.inProgress(*v.Attempt)
	}
	for _, l := range v.Lines {
		it := cartItemJSON{ID: l.ID, ChildID: l.ChildID, ServiceID: l.ServiceID, Date: l.Day.Format(time.DateOnly), PriceCents: l.PriceCents}
		if o, ok := offers[l.ID]; ok {
			it.OfferExpiresAt, it.WaitlistEntryID = &o.ExpiresAt, &o.EntryID
		}
		out.Items = append(out.Items, it)
	}
	return out, true
}

func (s *Server) getCart(c *gin.Context) {
	if out, ok := s.cartView(c); ok {
		c.JSON(http.StatusOK, out)
	}
}

type addItemsRequest struct {
	Items []cart.Item `json:"items"`
}

func (s *Server) addCartItems(c *gin.Context) {
	key, ok := optionalIdempotencyKey(c)
	if !ok {
		fail(c, s.log, errIdempotencyKeyInvalid)
		return
	}
	items, bad := decodeCartItems(c.Request.Body)
	if bad != nil {
		fail(c, s.log, bad)
		return
	}
	fam := callerOf(c).family()
	added, err := s.carts.AddItems(c, fam, items)
	crt, start := added.Cart, added.Created
	var refused *cart.RefusedError
	switch {
	case errors.As(err, &refused) && key != "" && refused.AllAlreadyInCart(len(items)):
		// The same request again (a client retrying with its Idempotency-Key
		// because the answer was lost, e.g. its API process died): adding is all
		// or nothing, so every day being held already means the first one went
		// through, and its answer is this one. Nothing is added twice.
		v, err := s.carts.Get(c, fam)
		if err != nil {
			fail(c, s.log, err)
			return
		}
		crt, start = *v.Cart, true // the held days are in the family's live cart
	case errors.As(err, &refused):
		fail(c, s.log, itemsRefused("Aucun jour n'a été ajouté au panier : corrigez les jours refusés puis réessayez.", refused))
		return
	case errors.Is(err, cart.ErrNotOpen):
		fail(c, s.log, errCartBusy)
		return
	case err != nil:
		fail(c, s.log, err)
		return
	}
	// The cart's workflow (it owns the 48 h expiry) starts with the cart, once;
	// a retried request starts it again in case its first try could not (starting
	// a running one joins it). A cart left without one all the same gets it at
	// checkout (UpdateWithStart) or from reconciliation (docs/operations.md).
	if start {
		if err := s.startCart(c, crt); err != nil {
			fail(c, s.log, err)
			return
		}
	}
	if out, ok := s.cartView(c); ok {
		c.JSON(http.StatusCreated, out)
	}
}

// itemsRefused lists each refused day of a booking, named: « Le jeudi 3 décembre :
// le délai de réservation est dépassé ».
func itemsRefused(detail string, refused *cart.RefusedError) *Problem {
	p := problem(http.StatusConflict, "items-refused", "Certaines réservations sont impossibles", detail)
	for _, r := range refused.Refusals {
		p.Errors = append(p.Errors, FieldError{Field: "items[" + strconv.Itoa(r.Index) + "]", Message: cart.DayMessage(r.Item.Date, r.Message), Reason: r.Reason})
	}
	return p
}

var errCartBusy = problem(http.StatusConflict, "cart-not-open", "Paiement en cours",
	"Votre panier est en cours de paiement : terminez ou abandonnez le paiement avant de le modifier.")

func (s *Server) removeCartItem(c *gin.Context) {
	id, err := uuid.Parse(c.Param("item_id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	switch freed, err := s.carts.RemoveItem(c, callerOf(c).family(), id); {
	case errors.Is(err, cart.ErrNotFound):
		fail(c, s.log, errNotFound)
	case errors.Is(err, cart.ErrNotOpen):
		fail(c, s.log, errCartBusy)
	case err != nil:
		fail(c, s.log, err)
	default:
		s.placesFreed(c, freed)
		c.Status(http.StatusNoContent)
	}
}

func (s *Server) checkout(c *gin.Context) {
	// One read: the workflow's checkout reads everything again under lock.
	facts, err := s.carts.ForCheckout(c, callerOf(c).family())
	if err != nil {
		fail(c, s.log, err)
		return
	}
	if facts.Cart == nil || facts.Lines == 0 {
		fail(c, s.log, refusal(booking.EmptyCart, booking.RefusalMessage(booking.EmptyCart)))
		return
	}
	s.runCheckout(c, *facts.Cart, workflows.CheckoutRequest{Lines: facts.Lines, HasEmail: facts.HasEmail})
}

// runCheckout sends the checkout update to the cart's workflow, starting the
// workflow if it is not running (UpdateWithStart), and waits for its answer.
func (s *Server) runCheckout(c *gin.Context, crt db.Cart, req workflows.CheckoutRequest) {
	updateID, ok := optionalIdempotencyKey(c)
	if !ok {
		fail(c, s.log, errIdempotencyKeyInvalid)
		return
	}
	if updateID == "" {
		updateID = uuid.NewString()
	}
	cs := s.cartStart(crt)
	start := s.temporal.NewWithStartWorkflowOperation(cs.Client(s.cfg.TemporalTaskQueue), workflows.CartWorkflow, cs.Input)
	handle, err := s.temporal.UpdateWithStartWorkflow(c, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID: "checkout:" + crt.ID.String() + ":" + updateID, UpdateName: workflows.CheckoutUpdate,
			WaitForStage: client.WorkflowUpdateStageCompleted,
			Args:         []any{req},
		},
	})
	var res workflows.CheckoutResult
	if err == nil {
		err = handle.Get(c, &res)
	}
	if err != nil {
		// The workflow words its refusals for the family (empty cart, no e-mail,
		// payment in progress, expired, PayFiP unavailable); anything else is ours.
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeCheckoutRefused {
			fail(c, s.log, problem(http.StatusConflict, "checkout-refused", "Paiement impossible", appErr.Message()))
			return
		}
		fail(c, s.log, err)
		return
	}
	out := gin.H{"status": res.Status, "cart_id": crt.ID, "amount_due_cents": res.AmountDueCents}
	if res.Status == workflows.CheckoutConfirmed {
		out["carried_to_balance_cents"] = res.CarriedToBalanceCents
	}
	if res.PaymentURL != "" {
		out["payment_url"] = res.PaymentURL
	}
	if res.AttemptID != "" {
		out["payment_id"] = res.AttemptID
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) cartStart(crt db.Cart) workflows.CartStartOptions {
	return workflows.NewCartStart(crt.ID, crt.OrgID, crt.FamilyID, crt.ExpiresAt, s.cfg.CartReminderBefore)
}

func (s *Server) startCart(c *gin.Context, crt db.Cart) error {
	start := s.cartStart(crt)
	_, err := s.temporal.ExecuteWorkflow(c, start.Client(s.cfg.TemporalTaskQueue), workflows.CartWorkflow, start.Input)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil
	}
	return err
}

// maxItems bounds one request: a school year of one service for one child.
const maxItems = 400

// decodeCartItems reads {"items": [{child_id, service_id, date}]} and checks its
// shape; the rules themselves are checked by cart.AddItems.
func decodeCartItems(body io.Reader) ([]cart.Item, *Problem) {
	var req addItemsRequest
	dec := json.NewDecoder(io.LimitReader(body, 1<<20))
	if err := dec.Decode(&req); err != nil {
		return nil, badRequest(`Le corps doit être {"items": [{"child_id", "service_id", "date"}]} avec des identifiants valides.`)
	}
	if len(req.Items) == 0 || len(req.Items) > maxItems {
		return nil, badRequest("Indiquez entre 1 et 400 jours à réserver.", FieldError{Field: "items", Message: "entre 1 et 400 éléments"})
	}
	var fields []FieldError
	for i, it := range req.Items {
		if _, err := booking.ParseDay(it.Date); err != nil {
			fields = append(fields, FieldError{Field: "items[" + strconv.Itoa(i) + "].date", Message: "date attendue au format AAAA-MM-JJ"})
		}
		if it.ChildID == uuid.Nil || it.ServiceID == uuid.Nil {
			fields = append(fields, FieldError{Field: "items[" + strconv.Itoa(i) + "]", Message: "child_id et service_id sont requis"})
		}
	}
	if len(fields) > 0 {
		return nil, badRequest("Certains jours sont mal décrits.", fields...)
	}
	return req.Items, nil
}
