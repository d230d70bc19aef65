package mail

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
)

// Once sends the message of key at most once: the outbound_emails row claimed
// under key records that it left. compose is called only when the message is due;
// it goes to its To (or the claimed address) under its Subject (or the claimed
// one). A retry after a crash between sending and recording sends the same
// message again with the same Message-ID (and the same outbox file), which is the
// most SMTP allows. sent is false when it had left already.
func Once(ctx context.Context, q *db.Queries, s Sender, orgID uuid.UUID, key, to, subject string, compose func() (Message, error)) (sent bool, err error) {
	row, err := q.ClaimEmail(ctx, db.ClaimEmailParams{ID: uuid.New(), OrgID: orgID, IdempotencyKey: key, ToAddress: to, Subject: subject})
	if err != nil {
		return false, fmt.Errorf("claim e-mail %s: %w", key, err)
	}
	if row.SentAt != nil {
		return false, nil
	}
	m, err := compose()
	if err != nil {
		return false, err
	}
	m.Key = key
	if len(m.To) == 0 {
		m.To = []string{row.ToAddress}
	}
	if m.Subject == "" {
		m.Subject = row.Subject
	}
	if err := s.Send(ctx, m); err != nil {
		return false, fmt.Errorf("send %s: %w", key, err)
	}
	if err := q.MarkEmailSent(ctx, key); err != nil {
		return false, fmt.Errorf("mark e-mail %s sent: %w", key, err)
	}
	return true, nil
}
