package contact

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/check"
	"github.com/enfance/enfance/db"
)

// Categories of a family's first message.
var Categories = map[string]string{
	"question":         "question",
	"document":         "envoi de document",
	"situation_change": "changement de situation",
}

// Posted is a family's new thread, with what telling the service needs.
type Posted struct {
	Message db.Message
	Family  db.Family
	Org     db.Org
}

// Post stores a family's message and its files in one transaction, within the
// family's attachment Quota (a *QuotaError otherwise). The subject, body and
// category are checked first (a *check.Error names the fields).
func (s *Store) Post(ctx context.Context, by audit.Actor, familyID uuid.UUID, subject, body, category string, files []File) (Posted, error) {
	subject, body = strings.TrimSpace(subject), strings.TrimSpace(body)
	var bad check.Fields
	bad.Add("subject", check.Required(200)(subject))
	bad.Add("body", check.Required(10000)(body))
	if _, ok := Categories[category]; !ok {
		bad.Add("category", "question, document ou situation_change")
	}
	if err := bad.Err("Message incomplet."); err != nil {
		return Posted{}, err
	}
	var out Posted
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		var err error
		// The family's lock makes its quota hold under parallel uploads.
		if out.Family, err = q.LockFamily(ctx, db.LockFamilyParams{OrgID: by.OrgID, ID: familyID}); db.NotFound(err) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("lock family: %w", err)
		}
		if err := s.Quota.Check(ctx, q, by.OrgID, familyID, files); err != nil {
			return err
		}
		if out.Org, err = q.GetOrg(ctx, by.OrgID); err != nil {
			return fmt.Errorf("read org: %w", err)
		}
		if out.Message, err = q.InsertMessage(ctx, db.InsertMessageParams{
			ID: uuid.New(), OrgID: by.OrgID, FamilyID: familyID, AuthorID: &by.UserID,
			Category: category, Subject: subject, Body: body,
		}); err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		return Attach(ctx, q, out.Message.ID, files)
	})
	return out, err
}

// StaffReply is the service's answer in a thread, with what telling the family needs.
type StaffReply struct {
	Message db.Message
	Thread  db.GetOrgThreadRow // its first message, with the family's name and e-mail
}

// Answer adds staff's reply, and its files, to one of the org's threads: the
// family's messages of the thread count as read. Audited.
func (s *Store) Answer(ctx context.Context, by audit.Actor, threadID uuid.UUID, body string, files []File) (StaffReply, error) {
	var out StaffReply
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		var err error
		if out.Thread, err = q.GetOrgThread(ctx, db.GetOrgThreadParams{OrgID: by.OrgID, ID: threadID}); db.NotFound(err) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("read thread: %w", err)
		}
		root := out.Thread
		if out.Message, err = q.InsertMessage(ctx, db.InsertMessageParams{
			ID: uuid.New(), OrgID: by.OrgID, FamilyID: root.FamilyID, ParentID: &root.ID, AuthorID: &by.UserID, FromStaff: true,
			Category: root.Category, Subject: root.Subject, Body: body,
		}); err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		if err := Attach(ctx, q, out.Message.ID, files); err != nil {
			return err
		}
		now := s.Now.Time()
		if err := q.MarkThreadRead(ctx, db.MarkThreadReadParams{OrgID: by.OrgID, ThreadID: root.ID, Now: now}); err != nil {
			return fmt.Errorf("mark read: %w", err)
		}
		return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: "message.reply", Entity: "message",
			EntityID: out.Message.ID.String(), After: map[string]any{"thread_id": root.ID, "family_id": root.FamilyID, "attachments": len(files)}, At: now})
	})
	return out, err
}

// Message is a message of a thread with its attachments (without their content).
type Message struct {
	db.Message
	AuthorLogin string // staff views only
	Attachments []db.ListAttachmentMetaRow
}

// Thread is a family's first message and the replies to it, in order.
type Thread struct {
	Root       db.Message
	FamilyName string // staff views only
	Messages   []Message
}

// LastMessageAt is when the thread last moved.
func (t Thread) LastMessageAt() time.Time { return t.Messages[len(t.Messages)-1].CreatedAt }

// threads groups messages (ordered by time) into threads, newest activity first.
func (s *Store) threads(ctx context.Context, msgs []db.Message) ([]Thread, error) {
	ids := make([]uuid.UUID, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	atts, err := db.New(s.Pool).ListAttachmentMeta(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("attachments: %w", err)
	}
	byMsg := map[uuid.UUID][]db.ListAttachmentMetaRow{}
	for _, a := range atts {
		byMsg[a.MessageID] = append(byMsg[a.MessageID], a)
	}
	var order []uuid.UUID
	threads := map[uuid.UUID]*Thread{}
	for _, m := range msgs {
		root := m.ID
		if m.ParentID != nil {
			root = *m.ParentID
		}
		t := threads[root]
		if t == nil {
			t = &Thread{Root: m}
			threads[root] = t
			order = append(order, root)
		}
		t.Messages = append(t.Messages, Message{Message: m, Attachments: byMsg[m.ID]})
	}
	out := make([]Thread, 0, len(order))
	for i := len(order) - 1; i >= 0; i-- {
		out = append(out, *threads[order[i]])
	}
	// Newest activity first: a reply brings an old thread up.
	slices.SortStableFunc(out, func(a, b Thread) int {
		return b.LastMessageAt().Compare(a.LastMessageAt())
	})
	return out, nil
}

// FamilyThreads lists a family's threads with the service's replies.
func (s *Store) FamilyThreads(ctx context.Context, orgID, familyID uuid.UUID) ([]Thread, error) {
	msgs, err := db.New(s.Pool).ListFamilyMessages(ctx, db.ListFamilyMessagesParams{OrgID: orgID, FamilyID: familyID})
	if err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	return s.threads(ctx, msgs)
}

// FamilyThread reads one of a family's threads (ErrNotFound for another's).
func (s *Store) FamilyThread(ctx context.Context, orgID, familyID, threadID uuid.UUID) (Thread, error) {
	threads, err := s.FamilyThreads(ctx, orgID, familyID)
	if err != nil {
		return Thread{}, err
	}
	for _, t := range threads {
		if t.Root.ID == threadID {
			return t, nil
		}
	}
	return Thread{}, ErrNotFound
}

// OrgThread reads one of the org's threads (by its first message's ID), with who
// wrote each message and when the family's were read.
func (s *Store) OrgThread(ctx context.Context, orgID, id uuid.UUID) (Thread, error) {
	q := db.New(s.Pool)
	root, err := q.GetOrgThread(ctx, db.GetOrgThreadParams{OrgID: orgID, ID: id})
	if db.NotFound(err) {
		return Thread{}, ErrNotFound
	} else if err != nil {
		return Thread{}, fmt.Errorf("read thread: %w", err)
	}
	rows, err := q.ListThreadMessages(ctx, db.ListThreadMessagesParams{OrgID: orgID, ThreadID: root.ID})
	if err != nil {
		return Thread{}, fmt.Errorf("messages: %w", err)
	}
	msgs := make([]db.Message, len(rows))
	logins := map[uuid.UUID]string{}
	for i, r := range rows {
		msgs[i] = db.Message{ID: r.ID, OrgID: r.OrgID, FamilyID: r.FamilyID, ParentID: r.ParentID, AuthorID: r.AuthorID,
			FromStaff: r.FromStaff, Category: r.Category, Subject: r.Subject, Body: r.Body, ReadAt: r.ReadAt, CreatedAt: r.CreatedAt}
		logins[r.ID] = r.AuthorLogin
	}
	threads, err := s.threads(ctx, msgs)
	if err != nil {
		return Thread{}, err
	}
	t := threads[0]
	t.FamilyName = root.FamilyName
	for i := range t.Messages {
		t.Messages[i].AuthorLogin = logins[t.Messages[i].ID]
	}
	return t, nil
}

// Inbox is a page of the org's threads, newest activity first; waitingOnly keeps
// those awaiting the service's answer.
func (s *Store) Inbox(ctx context.Context, orgID uuid.UUID, waitingOnly bool, limit, offset int) ([]db.ListOrgThreadsRow, error) {
	return db.New(s.Pool).ListOrgThreads(ctx, db.ListOrgThreadsParams{OrgID: orgID, WaitingOnly: waitingOnly, Lim: int32(limit), Off: int32(offset)})
}

// FamilyAttachment reads an attachment of one of the family's messages.
func (s *Store) FamilyAttachment(ctx context.Context, orgID, familyID, messageID, id uuid.UUID) (db.Attachment, error) {
	a, err := db.New(s.Pool).GetFamilyAttachment(ctx, db.GetFamilyAttachmentParams{OrgID: orgID, FamilyID: familyID, MessageID: messageID, ID: id})
	return a, notFound(err)
}

// OrgAttachment reads an attachment of one of the org's messages.
func (s *Store) OrgAttachment(ctx context.Context, orgID, messageID, id uuid.UUID) (db.Attachment, error) {
	a, err := db.New(s.Pool).GetOrgAttachment(ctx, db.GetOrgAttachmentParams{OrgID: orgID, MessageID: messageID, ID: id})
	return a, notFound(err)
}

func notFound(err error) error {
	if db.NotFound(err) {
		return ErrNotFound
	}
	return err
}
