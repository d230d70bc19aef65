package activities

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/receipt"
)

// SendReceipt e-mails the document of a settled attempt once (package receipt
// words it: an attestation de paiement, or the confirmation of reservations
// carried to the balance). The outbound_emails row keyed "receipt:<attempt>"
// records that it left; a retry after a crash between sending and recording sends
// the same message again with the same Message-ID (and the same outbox file),
// which is the most SMTP allows.
func (a *Activities) SendReceipt(ctx context.Context, attemptID uuid.UUID) error {
	return a.sendDocument(ctx, attemptID, "receipt:")
}

// sendDocument e-mails the attempt's receipt.Doc under key prefix+<attempt>.
func (a *Activities) sendDocument(ctx context.Context, attemptID uuid.UUID, prefix string) error {
	q := db.New(a.Pool)
	att, err := q.GetPaymentAttempt(ctx, attemptID)
	if err != nil {
		return fmt.Errorf("read attempt: %w", err)
	}
	doc, err := receipt.Build(ctx, q, att)
	if err != nil {
		return err
	}
	to := att.Mel
	if fam, err := q.GetFamily(ctx, db.GetFamilyParams{OrgID: att.OrgID, ID: att.FamilyID}); err == nil && fam.Email != "" {
		to = fam.Email // the address the family has now, if it changed since the checkout
	}
	key := prefix + att.ID.String()
	row, err := q.ClaimEmail(ctx, db.ClaimEmailParams{ID: uuid.New(), OrgID: att.OrgID, IdempotencyKey: key, ToAddress: to, Subject: doc.Subject})
	if err != nil {
		return fmt.Errorf("claim e-mail: %w", err)
	}
	if row.SentAt != nil {
		return nil
	}
	err = a.Mail.Send(ctx, mail.Message{
		Key: key, To: []string{row.ToAddress}, Subject: row.Subject, Text: doc.Text,
		Attachments: []mail.Attachment{{Filename: doc.Filename, ContentType: "application/pdf", Data: doc.PDF}},
	})
	if err != nil {
		return fmt.Errorf("send %s: %w", key, err)
	}
	return q.MarkEmailSent(ctx, key)
}
