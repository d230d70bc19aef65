// Package activities holds the side effects the workflows ask for: PostgreSQL
// transactions and PayFiP calls. Every write is idempotent: replaying an activity
// after a crash finds its key (a UNIQUE constraint or a status guard) and does
// nothing more.
package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/enfance/enfance/booking"
	cartpkg "github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/ledger"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/payfip"
	"github.com/enfance/enfance/waitlist"
)

// Error types the workflows tell apart.
const (
	ErrTypeNothingToPay = "NothingToPay"
	ErrTypeCartClosed   = "CartClosed"
	ErrTypeCartBusy     = "CartBusy"
	ErrTypeNoEmail      = "NoEmail"
	ErrTypePayFiP       = "PayFiPUnavailable"
	ErrTypeNotPaid      = "NotPaid"
)

// Activities carries what the side effects need.
type Activities struct {
	Pool      *pgxpool.Pool
	PayFiP    *payfip.Client
	PublicURL string // base of urlnotif and urlredirect, and of the links in e-mails
	Mail      mail.Sender
	Log       *zap.Logger
	Now       db.Clock // nil: the system's
	// TestPayments: ENFANCE_ENV is not production, so a test (T) PayFiP payment
	// counts as paid. False (the zero value) in production: see payfip.Sent.
	TestPayments bool
	// Waitlists runs the waiting lists' transactions; its cart store opens the
	// carts offers go into (CART_TTL).
	Waitlists *waitlist.Store
	// Lists wakes the waiting lists of days whose places a cart's expiry freed.
	Lists Waker
	// CartReminderBefore (CART_REMINDER_BEFORE) is given to the workflows of the
	// carts a waiting list opens.
	CartReminderBefore time.Duration
	// Pause, when set, is called at the named steps inside the activities (and
	// the e-mail queue) where fault-injection tests kill a worker: "ConfirmCart",
	// "SendReceipt" (worker.PauseBeforeEnv).
	Pause func(step string)
}

func (a *Activities) pause(step string) {
	if a.Pause != nil {
		a.Pause(step)
	}
}

// Waker wakes the waiting lists' workflows (workflows.Lists).
type Waker interface {
	// Freed: places were freed on these days; the lists with children waiting act.
	Freed(ctx context.Context, days []uuid.UUID) error
	// Wake: these days' lists should look at their day again, whatever it holds.
	Wake(ctx context.Context, days []uuid.UUID) error
}

func (a *Activities) now() time.Time { return a.Now.Time() }

func (a *Activities) tx(ctx context.Context, fn func(q *db.Queries) error) error {
	return db.InTx(ctx, a.Pool, fn)
}

// PrepareCheckoutInput names the attempt the workflow is about to make.
type PrepareCheckoutInput struct {
	CartID uuid.UUID
	Seq    int32 // 1 for the first checkout of this cart, 2 after a refusal …; a hint, see PrepareCheckout
}

// PrepareCheckoutResult is the frozen checkout.
type PrepareCheckoutResult struct {
	AttemptID  uuid.UUID
	Seq        int32 // the attempt's number for this cart
	Settlement booking.Settlement
	Totals     booking.Totals
}

// PrepareCheckout locks the cart, computes what is due from PostgreSQL (lines,
// outstanding balance, credit), freezes it in a payment attempt and moves the cart to
// checking_out.
//
// The cart's status is the idempotency key: a cart already in checking_out means
// this activity ran before (its answer was lost) or an earlier run of the cart's
// workflow left an attempt unsettled; either way that attempt is returned instead
// of a second one. A new attempt takes the next free number (in.Seq at least), so
// a workflow restarted from seq 1 never collides with its predecessor's attempts.
func (a *Activities) PrepareCheckout(ctx context.Context, in PrepareCheckoutInput) (PrepareCheckoutResult, error) {
	var res PrepareCheckoutResult
	err := a.tx(ctx, func(q *db.Queries) error {
		c, err := q.GetCart(ctx, in.CartID)
		if err != nil {
			return fmt.Errorf("read cart: %w", err)
		}
		// Same lock order as the other writers that read balances (family, then
		// cart), so that a cancellation and a checkout never deadlock.
		if err := ledger.LockFamily(ctx, q, c.FamilyID); err != nil {
			return err
		}
		cart, err := q.LockCart(ctx, in.CartID)
		if err != nil {
			return fmt.Errorf("lock cart: %w", err)
		}
		seq := max(in.Seq, 1)
		switch last, err := q.LatestPaymentAttempt(ctx, cart.ID); {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read attempts: %w", err)
		case cart.Status == db.CartStatusCheckingOut && unsettled(last.Status):
			res = resultOf(last)
			return nil
		default:
			seq = max(seq, last.Seq+1)
		}
		if cart.Status != db.CartStatusOpen && cart.Status != db.CartStatusCheckingOut {
			return refused(booking.CartClosed)
		}
		p, err := a.payerOf(ctx, q, cart.OrgID, cart.FamilyID)
		if err != nil {
			return err
		}
		// What a payment of the balance in progress froze is not this cart's to pay.
		quote, err := cartpkg.QuoteCart(ctx, q, cart)
		if err != nil {
			return err
		}
		totals := quote.Totals
		if code := booking.CheckoutRefusal(len(quote.Lines), totals.OutstandingAddedCents, p.hasEmail()); code != "" {
			return refused(code)
		}
		settlement := booking.HowToSettle(totals.TotalDueCents)
		status := db.AttemptStatusCreated
		if settlement != booking.SettlePayFiP {
			status = db.AttemptStatusSettledWithoutPayfip
		}
		id := uuid.New()
		att, err := q.InsertPaymentAttempt(ctx, db.InsertPaymentAttemptParams{
			ID: id, OrgID: cart.OrgID, FamilyID: cart.FamilyID, CartID: cart.ID, Seq: seq,
			Refdet: Refdet(id), Numcli: p.org.Numcli, Exer: p.exer, Saisie: p.org.Saisie, Mel: p.fam.Email,
			Objet:            payfip.NormalizeObjet("Reservations " + p.org.Name + " famille " + p.fam.Name),
			LinesCents:       totals.SubtotalCents,
			OutstandingCents: totals.OutstandingAddedCents,
			CreditUsedCents:  totals.CreditAppliedCents,
			AmountCents:      totals.TotalDueCents,
			Status:           status,
		})
		if err != nil {
			return fmt.Errorf("insert attempt: %w", err)
		}
		if err := q.SetCartStatus(ctx, db.SetCartStatusParams{ID: cart.ID, Status: db.CartStatusCheckingOut}); err != nil {
			return fmt.Errorf("cart to checking_out: %w", err)
		}
		res = resultOf(att)
		return nil
	})
	return res, err
}

// payer is who a new payment attempt is for, as PayFiP needs it: the org
// (numcli, saisie, the year in its zone) and the family (its e-mail address).
type payer struct {
	org  db.Org
	fam  db.Family
	exer int32
}

// hasEmail: the family has an address for its receipt; without one it cannot pay.
func (p payer) hasEmail() bool { return strings.TrimSpace(p.fam.Email) != "" }

// refused is a refusal of the catalogue (booking.RefusalMessage), in French for
// the family, non-retryable, of the type the workflows tell apart.
func refused(code string) error {
	typ := map[string]string{
		booking.NothingToPay: ErrTypeNothingToPay, booking.NoEmail: ErrTypeNoEmail, booking.CartClosed: ErrTypeCartClosed,
	}[code]
	return temporal.NewNonRetryableApplicationError(booking.RefusalMessage(code), typ, nil)
}

// payerOf reads the payer of a new attempt.
func (a *Activities) payerOf(ctx context.Context, q *db.Queries, orgID, familyID uuid.UUID) (payer, error) {
	org, err := q.GetOrg(ctx, orgID)
	if err != nil {
		return payer{}, fmt.Errorf("read org: %w", err)
	}
	fam, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: orgID, ID: familyID})
	if err != nil {
		return payer{}, fmt.Errorf("read family: %w", err)
	}
	loc, err := org.Zone()
	if err != nil {
		return payer{}, fmt.Errorf("org time zone: %w", err)
	}
	return payer{org: org, fam: fam, exer: int32(a.now().In(loc).Year())}, nil
}

// unsettled: the attempt may still end in a payment (or already did, unconfirmed).
func unsettled(status db.AttemptStatus) bool {
	switch status {
	case db.AttemptStatusCreated, db.AttemptStatusPending, db.AttemptStatusPaid, db.AttemptStatusSettledWithoutPayfip:
		return true
	}
	return false
}

func resultOf(att db.PaymentAttempt) PrepareCheckoutResult {
	return PrepareCheckoutResult{
		AttemptID:  att.ID,
		Seq:        att.Seq,
		Settlement: booking.HowToSettle(att.AmountCents),
		Totals: booking.Totals{
			SubtotalCents: att.LinesCents, OutstandingAddedCents: att.OutstandingCents,
			CreditAppliedCents: att.CreditUsedCents, TotalDueCents: att.AmountCents,
		},
	}
}

// Refdet derives PayFiP's refdet from the attempt ID: new for every attempt,
// 6–30 alphanumerics.
func Refdet(attempt uuid.UUID) string {
	return "ENF" + strings.ToUpper(strings.ReplaceAll(attempt.String(), "-", "")[:24])
}

// PaymentCreated is a PayFiP payment the payer can be sent to.
type PaymentCreated struct {
	IDOp       string
	PaymentURL string
	CreatedAt  time.Time
}

// CreatePayFiPPayment asks PayFiP for an idOp and stores it with the attempt before
// anyone is redirected. Replayed after success it returns the stored idOp instead of
// creating a second payment.
func (a *Activities) CreatePayFiPPayment(ctx context.Context, attemptID uuid.UUID) (PaymentCreated, error) {
	q := db.New(a.Pool)
	att, err := q.GetPaymentAttempt(ctx, attemptID)
	if err != nil {
		return PaymentCreated{}, fmt.Errorf("read attempt: %w", err)
	}
	if att.IDOp != nil {
		return PaymentCreated{IDOp: *att.IDOp, PaymentURL: a.PayFiP.PaymentPageURL(*att.IDOp), CreatedAt: deref(att.PayfipCreatedAt)}, nil
	}
	if att.Status != db.AttemptStatusCreated {
		return PaymentCreated{}, temporal.NewNonRetryableApplicationError("attempt is "+string(att.Status), ErrTypeCartClosed, nil)
	}
	idOp, err := a.PayFiP.CreatePayment(ctx, payfip.PaymentRequest{
		Exer: int(att.Exer), Mel: att.Mel, AmountCents: att.AmountCents, Numcli: att.Numcli,
		Objet: att.Objet, Refdet: att.Refdet, Saisie: att.Saisie,
		URLNotif:    a.PublicURL + "/payfip/notify",
		URLRedirect: a.PublicURL + "/payfip/return",
	})
	if err != nil {
		// A creation is never retried blindly: each call makes a new idOp. The
		// workflow decides (it reopens the cart and the family may try again).
		return PaymentCreated{}, temporal.NewNonRetryableApplicationError("PayFiP creation failed: "+err.Error(), ErrTypePayFiP, err)
	}
	if err := q.SetPaymentAttemptIDOp(ctx, db.SetPaymentAttemptIDOpParams{ID: att.ID, IDOp: &idOp}); err != nil {
		return PaymentCreated{}, fmt.Errorf("store idOp: %w", err)
	}
	a.Log.Info("payfip payment created", zap.String("attempt", att.ID.String()), zap.String("idop", idOp),
		zap.Int64("amount_cents", att.AmountCents))
	return PaymentCreated{IDOp: idOp, PaymentURL: a.PayFiP.PaymentPageURL(idOp), CreatedAt: a.now()}, nil
}

// CheckPayment reads the truth from PayFiP (never from a callback), verifies it
// against what was sent and records a final outcome on the attempt.
func (a *Activities) CheckPayment(ctx context.Context, attemptID uuid.UUID) (payfip.Outcome, error) {
	q := db.New(a.Pool)
	att, err := q.GetPaymentAttempt(ctx, attemptID)
	if err != nil {
		return payfip.Outcome{}, fmt.Errorf("read attempt: %w", err)
	}
	switch att.Status {
	case db.AttemptStatusPaid:
		return payfip.Outcome{Status: payfip.StatusPaid, PaidAt: deref(att.PaidAt), Numauto: att.Numauto, Resultrans: att.Resultrans}, nil
	case db.AttemptStatusRefused, db.AttemptStatusAbandoned, db.AttemptStatusExpired:
		return payfip.Outcome{Status: payfip.Status(att.Status), Reason: att.StatusReason, Resultrans: att.Resultrans}, nil
	}
	if att.IDOp == nil {
		return payfip.Outcome{}, temporal.NewNonRetryableApplicationError("attempt has no idOp", ErrTypeNotPaid, nil)
	}
	detail, callErr := a.PayFiP.PaymentDetail(ctx, *att.IDOp)
	out := payfip.Evaluate(a.sent(att), detail, callErr, a.now())
	switch out.Status {
	case payfip.StatusPaid, payfip.StatusRefused, payfip.StatusAbandoned, payfip.StatusExpired:
		var paidAt *time.Time
		if out.Status == payfip.StatusPaid {
			paidAt = &out.PaidAt
		}
		if err := q.SetPaymentAttemptOutcome(ctx, db.SetPaymentAttemptOutcomeParams{
			ID: att.ID, Status: db.AttemptStatus(out.Status), Resultrans: out.Resultrans, Numauto: out.Numauto,
			StatusReason: out.Reason, PaidAt: paidAt,
		}); err != nil {
			return payfip.Outcome{}, fmt.Errorf("record outcome: %w", err)
		}
	case payfip.StatusError:
		a.Log.Warn("payfip result not usable", zap.String("attempt", att.ID.String()),
			zap.String("idop", *att.IDOp), zap.String("reason", out.Reason))
	}
	return out, nil
}

// sent is what the attempt asked PayFiP for, to check its answer against.
func (a *Activities) sent(att db.PaymentAttempt) payfip.Sent {
	return payfip.Sent{
		IDOp: deref(att.IDOp), Numcli: att.Numcli, Refdet: att.Refdet, Exer: int(att.Exer),
		AmountCents: att.AmountCents, Saisie: att.Saisie, CreatedAt: deref(att.PayfipCreatedAt),
		TestPayments: a.TestPayments,
	}
}

// ConfirmCart settles a checkout in one transaction: the held lines become
// reservations, the ledger records the charges, the credit used and the payment,
// the receipt is queued, and the cart is paid. Replayed, it finds the cart paid
// and stops.
func (a *Activities) ConfirmCart(ctx context.Context, attemptID uuid.UUID) error {
	return a.tx(ctx, func(q *db.Queries) error {
		att, err := q.LockPaymentAttempt(ctx, attemptID)
		if err != nil {
			return fmt.Errorf("lock attempt: %w", err)
		}
		cart, err := lockCartOf(ctx, q, att)
		if err != nil {
			return err
		}
		if cart.Status == db.CartStatusPaid {
			return nil
		}
		if cart.Status == db.CartStatusExpired {
			// Its places are gone: confirming now would sell seats twice. The workflow
			// never expires a cart with an attempt in progress, so this is a bug or a
			// manual change; stop and let an operator look (docs/operations.md).
			return temporal.NewNonRetryableApplicationError("cart "+cart.ID.String()+" expired before attempt "+att.ID.String()+" was confirmed", ErrTypeCartClosed, nil)
		}
		if att.Status != db.AttemptStatusPaid && att.Status != db.AttemptStatusSettledWithoutPayfip {
			return temporal.NewNonRetryableApplicationError("attempt is "+string(att.Status)+", not paid", ErrTypeNotPaid, nil)
		}
		at := a.now()
		if att.PaidAt != nil {
			at = *att.PaidAt
		}
		reservations, err := q.ConfirmCartLineReservations(ctx, cart.ID)
		if err != nil {
			return fmt.Errorf("confirm reservations: %w", err)
		}
		var charged int64
		for _, r := range reservations {
			charged += r.PriceCents
			if err := ledger.Write(ctx, q, ledger.Charge(r, cart.ID, at)); err != nil {
				return err
			}
		}
		if charged != att.LinesCents {
			// The cart was locked in checking_out since the checkout froze its total,
			// so this means a bug; refuse rather than write a ledger that lies.
			return fmt.Errorf("cart %s: lines changed since checkout (%d ≠ %d cents)", cart.ID, charged, att.LinesCents)
		}
		if att.CreditUsedCents > 0 {
			if err := ledger.Write(ctx, q, ledger.CreditUsed(att, at)); err != nil {
				return err
			}
		}
		if att.Status == db.AttemptStatusPaid {
			if err := ledger.Write(ctx, q, ledger.Payment(att, at)); err != nil {
				return err
			}
		}
		if err := q.ConfirmCartLines(ctx, cart.ID); err != nil {
			return fmt.Errorf("confirm lines: %w", err)
		}
		// Offers from waiting lists paid with the cart are accepted.
		if _, err := q.CloseOffersOfCart(ctx, cart.ID); err != nil {
			return fmt.Errorf("accept offers: %w", err)
		}
		// The receipt leaves with the confirmation or not at all: the e-mail queue sends it.
		if err := queueDocument(ctx, q, att, mailReceipt); err != nil {
			return err
		}
		return q.SetCartStatus(ctx, db.SetCartStatusParams{ID: cart.ID, Status: db.CartStatusPaid})
	})
}

// lockCartOf locks the cart a cart's attempt pays.
func lockCartOf(ctx context.Context, q *db.Queries, att db.PaymentAttempt) (db.Cart, error) {
	if att.CartID == nil {
		return db.Cart{}, temporal.NewNonRetryableApplicationError("attempt "+att.ID.String()+" pays no cart", ErrTypeCartClosed, nil)
	}
	cart, err := q.LockCart(ctx, *att.CartID)
	if err != nil {
		return db.Cart{}, fmt.Errorf("lock cart: %w", err)
	}
	return cart, nil
}

// ReopenCart puts a cart whose payment failed back to open, so the family may retry.
func (a *Activities) ReopenCart(ctx context.Context, attemptID uuid.UUID) error {
	return a.tx(ctx, func(q *db.Queries) error {
		att, err := q.LockPaymentAttempt(ctx, attemptID)
		if err != nil {
			return fmt.Errorf("lock attempt: %w", err)
		}
		if att.Status == db.AttemptStatusCreated || att.Status == db.AttemptStatusPending {
			// Creation failed or the attempt never settled: close it so it is never paid later unnoticed.
			if err := q.SetPaymentAttemptOutcome(ctx, db.SetPaymentAttemptOutcomeParams{
				ID: att.ID, Status: db.AttemptStatusError, StatusReason: "abandonné par le panier",
			}); err != nil {
				return fmt.Errorf("close attempt: %w", err)
			}
		}
		cart, err := lockCartOf(ctx, q, att)
		if err != nil {
			return err
		}
		if cart.Status != db.CartStatusCheckingOut {
			return nil
		}
		return q.SetCartStatus(ctx, db.SetCartStatusParams{ID: cart.ID, Status: db.CartStatusOpen})
	})
}

// ExpireCart ends a cart whose time ran out: its held places are released and its
// lines dropped, offers from waiting lists among them expired. A paid or already
// expired cart is left alone. A cart in checking_out is refused: its payment
// attempt must settle first, or the family could pay for places already given
// back. The waiting lists of the days freed are woken, also when a retry finds
// the cart expired already (the first try may have died before waking them).
func (a *Activities) ExpireCart(ctx context.Context, cartID uuid.UUID) error {
	err := a.tx(ctx, func(q *db.Queries) error {
		cart, err := q.LockCart(ctx, cartID)
		if err != nil {
			return fmt.Errorf("lock cart: %w", err)
		}
		switch cart.Status {
		case db.CartStatusPaid, db.CartStatusExpired:
			return nil
		case db.CartStatusCheckingOut:
			return temporal.NewNonRetryableApplicationError("cart "+cartID.String()+" has a payment attempt in progress", ErrTypeCartBusy, nil)
		}
		days, err := q.ReleaseCartLines(ctx, cartID)
		if err != nil {
			return fmt.Errorf("release lines: %w", err)
		}
		if _, err := q.CloseOffersOfCart(ctx, cartID); err != nil {
			return fmt.Errorf("expire offers: %w", err)
		}
		// One lock order for every writer of service_days, so two carts never deadlock.
		slices.SortFunc(days, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
		for _, d := range days {
			if err := q.ReleasePlace(ctx, d); err != nil {
				return fmt.Errorf("release place: %w", err)
			}
		}
		return q.SetCartStatus(ctx, db.SetCartStatusParams{ID: cartID, Status: db.CartStatusExpired})
	})
	if err != nil {
		return err
	}
	cart, err := db.New(a.Pool).GetCart(ctx, cartID)
	if err != nil || cart.Status != db.CartStatusExpired {
		return err
	}
	days, err := db.New(a.Pool).ListReleasedCartDays(ctx, cartID)
	if err != nil {
		return fmt.Errorf("released days: %w", err)
	}
	return a.wake(ctx, days)
}

// wake tells the waiting lists of days that places were freed there.
func (a *Activities) wake(ctx context.Context, days []uuid.UUID) error {
	if a.Lists == nil || len(days) == 0 {
		return nil
	}
	if err := a.Lists.Freed(ctx, days); err != nil {
		return fmt.Errorf("wake waiting lists: %w", err)
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
