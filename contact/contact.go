// Package contact holds the family ↔ service messages (« Contactez-nous ») in
// PostgreSQL: a thread is a family's first message and the replies to it.
package contact

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/db"
)

// ErrNotFound means the thread does not exist for this family (or is another's).
var ErrNotFound = errors.New("not found")

// Store runs the transactions.
type Store struct {
	Pool  *pgxpool.Pool
	Now   db.Clock // nil: the system's
	Quota Quota    // the families' attachments
}

// Quota bounds what a family sends as attachments (ATTACHMENT_MESSAGES_PER_DAY,
// ATTACHMENT_BYTES_PER_MONTH): messages with attachments in 24 hours, and bytes
// in 30 days. Messages without attachments and the staff's never count.
type Quota struct {
	MessagesPerDay int
	BytesPerMonth  int64
}

// QuotaError is a message refused by the family's Quota; nothing is stored.
type QuotaError struct {
	Reason      string // "messages_per_day" or "bytes_per_month"
	Quota       Quota
	MessagesDay int64 // messages with attachments in the last 24 hours
	BytesMonth  int64 // attachment bytes in the last 30 days
	Size        int64 // this message's attachments
}

func (e *QuotaError) Error() string { return "attachment quota: " + e.Reason }

// Check refuses files that would take the family past its quota. Call it in the
// transaction that stores them, after the family's row is locked (LockFamily), so
// that parallel messages cannot both pass.
func (qt Quota) Check(ctx context.Context, q *db.Queries, orgID, familyID uuid.UUID, files []File) error {
	if len(files) == 0 {
		return nil
	}
	used, err := q.FamilyAttachmentUsage(ctx, db.FamilyAttachmentUsageParams{OrgID: orgID, FamilyID: familyID})
	if err != nil {
		return fmt.Errorf("attachment usage: %w", err)
	}
	e := &QuotaError{Quota: qt, MessagesDay: used.MessagesDay, BytesMonth: used.BytesMonth}
	for _, f := range files {
		e.Size += int64(len(f.Data))
	}
	switch {
	case used.MessagesDay >= int64(qt.MessagesPerDay):
		e.Reason = "messages_per_day"
	case used.BytesMonth+e.Size > qt.BytesPerMonth:
		e.Reason = "bytes_per_month"
	default:
		return nil
	}
	return e
}

// File is an attachment already checked (type by content, size).
type File struct {
	Name        string
	ContentType string
	Data        []byte
}

// Reply is a message added to a thread, with what telling the other side needs.
type Reply struct {
	Message db.Message
	Thread  db.Message // the thread's first message: its subject and category
	Family  db.Family
	Org     db.Org
}

// FamilyReply adds the family's message, and its files, to one of its threads in
// one transaction, within its attachment Quota (a *QuotaError otherwise). The
// thread then waits for the service's answer in the inbox.
func (s *Store) FamilyReply(ctx context.Context, orgID, familyID, authorID, threadID uuid.UUID, body string, files []File) (Reply, error) {
	var r Reply
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		var err error
		r.Thread, err = q.GetFamilyThread(ctx, db.GetFamilyThreadParams{OrgID: orgID, FamilyID: familyID, ID: threadID})
		if db.NotFound(err) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("read thread: %w", err)
		}
		if r.Family, err = q.LockFamily(ctx, db.LockFamilyParams{OrgID: orgID, ID: familyID}); err != nil {
			return fmt.Errorf("lock family: %w", err)
		}
		if err := s.Quota.Check(ctx, q, orgID, familyID, files); err != nil {
			return err
		}
		if r.Org, err = q.GetOrg(ctx, orgID); err != nil {
			return fmt.Errorf("read org: %w", err)
		}
		r.Message, err = q.InsertMessage(ctx, db.InsertMessageParams{
			ID: uuid.New(), OrgID: orgID, FamilyID: familyID, ParentID: &r.Thread.ID, AuthorID: &authorID,
			Category: r.Thread.Category, Subject: r.Thread.Subject, Body: body,
		})
		if err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		return Attach(ctx, q, r.Message.ID, files)
	})
	return r, err
}

// Attach stores a message's files, in the order they were sent.
func Attach(ctx context.Context, q *db.Queries, messageID uuid.UUID, files []File) error {
	for i, f := range files {
		if err := q.InsertAttachment(ctx, db.InsertAttachmentParams{
			ID: uuid.New(), MessageID: messageID, Position: int16(i), Filename: f.Name, ContentType: f.ContentType,
			SizeBytes: int32(len(f.Data)), Content: f.Data,
		}); err != nil {
			return fmt.Errorf("attachment: %w", err)
		}
	}
	return nil
}
