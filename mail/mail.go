// Package mail sends the engine's e-mails (receipts, invoices, password links) over
// SMTP, or, without an SMTP server, writes them as .eml files to an outbox folder.
// Building MIME by hand is what go-mail exists for; this package only picks the
// transport and names messages.
package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one e-mail. Key identifies it for idempotency: the same key is the same
// message (it becomes the Message-ID, and the outbox file name).
type Message struct {
	Key         string
	To          []string
	Subject     string
	Text        string
	Attachments []Attachment
}

// Attachment is a file sent with a message.
type Attachment struct {
	Filename    string
	ContentType string
	Data        []byte
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// New returns a sender to SMTP when smtpURL is set and to the outbox folder when
// outboxDir is set: both in dev with a local catcher such as Mailpit.
func New(smtpURL, from, outboxDir string) (Sender, error) {
	var senders Multi
	if outboxDir != "" {
		senders = append(senders, &Outbox{Dir: outboxDir, From: from})
	}
	if smtpURL != "" {
		s, err := NewSMTP(smtpURL, from)
		if err != nil {
			return nil, err
		}
		senders = append(senders, s)
	}
	switch len(senders) {
	case 0:
		return nil, errors.New("mail: set SMTP_URL (or MAIL_OUTBOX_DIR)")
	case 1:
		return senders[0], nil
	}
	return senders, nil
}

// Multi sends each message through every sender in turn; it fails if one fails,
// and a retry sends again through all (the outbox rewrites the same file).
type Multi []Sender

// Send delivers m through every sender.
func (ms Multi) Send(ctx context.Context, m Message) error {
	for _, s := range ms {
		if err := s.Send(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// build turns m into a go-mail message.
func build(m Message, from, domain string) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("from %q: %w", from, err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if m.Key != "" {
		msg.SetMessageIDWithValue(safeName(m.Key) + "@" + domain)
	} else {
		msg.SetMessageID()
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	for _, a := range m.Attachments {
		if err := msg.AttachReader(a.Filename, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(a.ContentType))); err != nil {
			return nil, fmt.Errorf("attach %s: %w", a.Filename, err)
		}
	}
	return msg, nil
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return unsafe.ReplaceAllString(s, "_") }

// Outbox writes each message to Dir as <key>.eml: writing the same key again
// replaces the file, so a retried send never produces a second message.
type Outbox struct {
	Dir  string
	From string
}

// Send writes the message file atomically (temp file + rename).
func (o *Outbox) Send(_ context.Context, m Message) error {
	msg, err := build(m, o.From, "enfance.local")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	name := m.Key
	if name == "" {
		name = strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	final := filepath.Join(o.Dir, safeName(name)+".eml")
	tmp, err := os.CreateTemp(o.Dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("outbox write: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("outbox write: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// SMTP sends through an SMTP server.
type SMTP struct {
	from   string
	domain string
	opts   []gomail.Option
	host   string
}

// NewSMTP reads smtp://user:password@host:port (STARTTLS when offered),
// smtps://… (implicit TLS) or smtp://host:port?tls=none (local catchers like Mailpit).
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("SMTP_URL: %w", err)
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return nil, fmt.Errorf("SMTP_URL: scheme must be smtp or smtps, not %q", u.Scheme)
	}
	port := 587
	if u.Scheme == "smtps" {
		port = 465
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("SMTP_URL port: %w", err)
		}
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(30 * time.Second)}
	switch {
	case u.Scheme == "smtps":
		opts = append(opts, gomail.WithSSLPort(false))
	case u.Query().Get("tls") == "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return &SMTP{from: from, domain: u.Hostname(), opts: opts, host: u.Hostname()}, nil
}

// Send delivers one message. The Message-ID derives from the key, so a receiving
// server or client can recognise a resend after a crash between send and record.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(m, s.from, s.domain)
	if err != nil {
		return err
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp send: %w", err)
	}
	return nil
}
