package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
	"github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/receipt"
)

// SendReceipt e-mails the attestation de paiement of a settled attempt, once. The
// outbound_emails row keyed "receipt:<attempt>" records that it left; a retry after
// a crash between sending and recording sends the same message again with the same
// Message-ID (and the same outbox file), which is the most SMTP allows.
func (a *Activities) SendReceipt(ctx context.Context, attemptID uuid.UUID) error {
	q := db.New(a.Pool)
	att, err := q.GetPaymentAttempt(ctx, attemptID)
	if err != nil {
		return fmt.Errorf("read attempt: %w", err)
	}
	key := "receipt:" + att.ID.String()
	subject := "Votre justificatif de paiement"
	row, err := q.ClaimEmail(ctx, db.ClaimEmailParams{ID: uuid.New(), OrgID: att.OrgID, IdempotencyKey: key, ToAddress: att.Mel, Subject: subject})
	if err != nil {
		return fmt.Errorf("claim e-mail: %w", err)
	}
	if row.SentAt != nil {
		return nil
	}
	pdf, err := receipt.Render(ctx, q, att)
	if err != nil {
		return err
	}
	org, err := q.GetOrg(ctx, att.OrgID)
	if err != nil {
		return fmt.Errorf("read org: %w", err)
	}
	loc, _ := time.LoadLocation(org.TimeZone)
	var body strings.Builder
	fmt.Fprintf(&body, "Bonjour,\n\nNous vous confirmons le paiement de vos réservations auprès de %s.\n\n", org.Name)
	if att.Status == "paid" {
		fmt.Fprintf(&body, "Montant payé : %s\nRéférence : %s\nN° d'autorisation : %s\n", document.Euros(att.AmountCents), att.Refdet, att.Numauto)
		if att.PaidAt != nil && loc != nil {
			fmt.Fprintf(&body, "Date : %s\n", document.DateTime(*att.PaidAt, loc))
		}
	} else {
		fmt.Fprintf(&body, "Vos réservations sont confirmées sans paiement en ligne (référence %s).\n", att.Refdet)
	}
	if att.CreditUsedCents > 0 {
		fmt.Fprintf(&body, "Cagnotte utilisée : %s\n", document.Euros(att.CreditUsedCents))
	}
	body.WriteString("\nVous trouverez en pièce jointe votre attestation de paiement (justificatif).\n\nCordialement,\nLe service Enfance\n")
	err = a.Mail.Send(ctx, mail.Message{
		Key: key, To: []string{att.Mel}, Subject: subject, Text: body.String(),
		Attachments: []mail.Attachment{{Filename: "attestation-" + att.Refdet + ".pdf", ContentType: "application/pdf", Data: pdf}},
	})
	if err != nil {
		return fmt.Errorf("send receipt: %w", err)
	}
	return q.MarkEmailSent(ctx, key)
}
