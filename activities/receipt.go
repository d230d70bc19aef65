package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/receipt"
)

// The e-mail queue. The e-mail of a payment attempt's document — its receipt, or
// the notice of a payment that came after its cart had ended — is a row of
// outbound_emails keyed "<kind>:<attempt>", queued by the transaction that makes
// it due (a cart's confirmation queues its receipt: ConfirmCart) or by the
// activity that sends it. Every worker process sends what is due
// (SendQueuedEmails, worker.New runs it), retrying a failure until it leaves:
// 5 s, 10 s, 20 s … then every 10 minutes. A sender holds a row for mailLease
// while it sends; a worker that dies meanwhile leaves it to another once the
// lease is over, which sends the same message again with the same Message-ID
// (and the same outbox file): the most SMTP allows.
const (
	mailReceipt     = "receipt"
	mailLatePayment = "late_payment"
	// mailLease covers one send: mail.SMTP gives up after 30 s.
	mailLease      = 45 * time.Second
	mailRetryFirst = 5 * time.Second
	mailRetryMax   = 10 * time.Minute
)

// errMailBusy: another worker is sending this e-mail now.
var errMailBusy = errors.New("e-mail being sent by another worker")

// queueDocument queues the e-mail of att's document in q's transaction.
func queueDocument(ctx context.Context, q *db.Queries, att db.PaymentAttempt, kind string) error {
	if err := q.QueueAttemptEmail(ctx, db.QueueAttemptEmailParams{
		ID: uuid.New(), OrgID: att.OrgID, IdempotencyKey: kind + ":" + att.ID.String(), ToAddress: att.Mel,
		Kind: &kind, PaymentAttemptID: &att.ID,
	}); err != nil {
		return fmt.Errorf("queue %s e-mail: %w", kind, err)
	}
	return nil
}

// SendReceipt e-mails the document of a settled attempt once (package receipt
// words it: an attestation de paiement, or the confirmation of reservations
// carried to the balance), now: the workflows that wait for it (the carts of
// workflows.FlowActivities, payments of the balance, reconciliation) call it.
func (a *Activities) SendReceipt(ctx context.Context, attemptID uuid.UUID) error {
	return a.sendDocument(ctx, attemptID, mailReceipt)
}

// sendDocument queues the attempt's e-mail of this kind if it is not queued yet
// and sends it now, unless it has left already. Failing, it stays queued: the
// caller's retries and the workers' queue both try again.
func (a *Activities) sendDocument(ctx context.Context, attemptID uuid.UUID, kind string) error {
	q := db.New(a.Pool)
	att, err := q.GetPaymentAttempt(ctx, attemptID)
	if err != nil {
		return fmt.Errorf("read attempt: %w", err)
	}
	if err := queueDocument(ctx, q, att, kind); err != nil {
		return err
	}
	key := kind + ":" + att.ID.String()
	row, err := q.LeaseEmail(ctx, db.LeaseEmailParams{IdempotencyKey: key, LeaseSeconds: mailLease.Seconds()})
	if errors.Is(err, pgx.ErrNoRows) {
		if row, err = q.GetEmailByKey(ctx, key); err == nil && row.SentAt != nil {
			return nil
		}
		return fmt.Errorf("%s: %w", key, errMailBusy)
	}
	if err != nil {
		return fmt.Errorf("lease %s: %w", key, err)
	}
	return a.deliver(ctx, q, row)
}

// SendQueuedEmails sends up to max queued e-mails due now, at most 8 at a time,
// and returns how many it took. A failure is logged and left queued for later.
// It is not an activity: every worker process runs it (worker.New).
func SendQueuedEmails(ctx context.Context, a *Activities, max int) (int, error) {
	q := db.New(a.Pool)
	rows, err := q.LeaseDueEmails(ctx, db.LeaseDueEmailsParams{LeaseSeconds: mailLease.Seconds(), MaxRows: int32(max)})
	if err != nil {
		return 0, fmt.Errorf("lease queued e-mails: %w", err)
	}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, row := range rows {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := a.deliver(ctx, q, row); err != nil {
				a.Log.Warn("queued e-mail not sent, will retry", zap.String("mail_key", row.IdempotencyKey),
					zap.Int32("tries", row.Tries), zap.Error(err))
			}
		}()
	}
	wg.Wait()
	return len(rows), nil
}

// deliver sends a queued e-mail its sender holds and records that it left, or
// when to try again.
func (a *Activities) deliver(ctx context.Context, q *db.Queries, row db.OutboundEmail) error {
	to, subject, err := a.sendQueued(ctx, q, row)
	if err == nil {
		if err = q.MarkQueuedEmailSent(ctx, db.MarkQueuedEmailSentParams{ID: row.ID, ToAddress: to, Subject: subject}); err == nil {
			return nil
		}
		err = fmt.Errorf("mark %s sent: %w", row.IdempotencyKey, err)
	}
	after := min(mailRetryFirst<<min(max(row.Tries-1, 0), 16), mailRetryMax)
	if rerr := q.RetryEmailLater(context.WithoutCancel(ctx), db.RetryEmailLaterParams{
		ID: row.ID, AfterSeconds: after.Seconds(), LastError: truncate(err.Error(), 500),
	}); rerr != nil {
		a.Log.Error("queued e-mail: next try not recorded", zap.String("mail_key", row.IdempotencyKey), zap.Error(rerr))
	}
	return err
}

// sendQueued builds and sends one queued e-mail; it returns the address and
// subject it went with.
func (a *Activities) sendQueued(ctx context.Context, q *db.Queries, row db.OutboundEmail) (string, string, error) {
	if row.PaymentAttemptID == nil {
		return "", "", fmt.Errorf("%s: no payment attempt", row.IdempotencyKey)
	}
	att, err := q.GetPaymentAttempt(ctx, *row.PaymentAttemptID)
	if err != nil {
		return "", "", fmt.Errorf("read attempt: %w", err)
	}
	doc, err := receipt.Build(ctx, q, att)
	if err != nil {
		return "", "", err
	}
	to := att.Mel
	if fam, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: att.OrgID, ID: att.FamilyID}); err == nil && fam.Email != "" {
		to = fam.Email // the address the family has now, if it changed since the checkout
	}
	if row.Kind != nil && *row.Kind == mailReceipt {
		a.pause("SendReceipt")
	}
	if err := a.Mail.Send(ctx, mail.Message{
		Key: row.IdempotencyKey, To: []string{to}, Subject: doc.Subject, Text: doc.Text,
		Attachments: []mail.Attachment{{Filename: doc.Filename, ContentType: "application/pdf", Data: doc.PDF}},
	}); err != nil {
		return "", "", fmt.Errorf("send %s: %w", row.IdempotencyKey, err)
	}
	return to, doc.Subject, nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
