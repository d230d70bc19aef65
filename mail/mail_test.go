package mail_test

import (
	"context"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	enfmail "github.com/enfance/enfance/mail"
)

func TestOutboxWritesOneParsableMessagePerKey(t *testing.T) {
	dir := t.TempDir()
	s, err := enfmail.New("", "Portail famille <no-reply@enfance.test>", dir)
	if err != nil {
		t.Fatal(err)
	}
	m := enfmail.Message{
		Key: "receipt:1234", To: []string{"martin@demo.enfance.test"},
		Subject: "Votre justificatif de paiement", Text: "Bonjour,\nvoici votre attestation.",
		Attachments: []enfmail.Attachment{{Filename: "attestation.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 test")}},
	}
	for range 2 { // a retried send must not make a second message
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("outbox holds %d messages, want 1: %v", len(files), files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parsed, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("not a valid message: %v", err)
	}
	if got := parsed.Header.Get("To"); !strings.Contains(got, "martin@demo.enfance.test") {
		t.Errorf("To = %q", got)
	}
	if got := parsed.Header.Get("Message-Id"); !strings.Contains(got, "receipt_1234") {
		t.Errorf("Message-ID = %q, want it derived from the key", got)
	}
	if ct := parsed.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/mixed") {
		t.Errorf("Content-Type = %q, want multipart with the attachment", ct)
	}
}

func TestSMTPURLIsChecked(t *testing.T) {
	for _, bad := range []string{"http://mail.example:25", "smtp://host:notaport", "::"} {
		if _, err := enfmail.NewSMTP(bad, "a@b.c"); err == nil {
			t.Errorf("NewSMTP(%q) accepted", bad)
		}
	}
	if _, err := enfmail.NewSMTP("smtp://user:secret@localhost:1025?tls=none", "a@b.c"); err != nil {
		t.Errorf("valid URL refused: %v", err)
	}
}

func TestNewPicksTheTransports(t *testing.T) {
	if s, err := enfmail.New("", "a@b.c", t.TempDir()); err != nil {
		t.Fatal(err)
	} else if _, ok := s.(*enfmail.Outbox); !ok {
		t.Errorf("no SMTP: got %T, want the outbox", s)
	}
	if s, err := enfmail.New("smtp://localhost:1025?tls=none", "a@b.c", ""); err != nil {
		t.Fatal(err)
	} else if _, ok := s.(*enfmail.SMTP); !ok {
		t.Errorf("SMTP only: got %T", s)
	}
	if s, err := enfmail.New("smtp://localhost:1025?tls=none", "a@b.c", t.TempDir()); err != nil {
		t.Fatal(err)
	} else if m, ok := s.(enfmail.Multi); !ok || len(m) != 2 {
		t.Errorf("dev with a catcher: got %T, want both", s)
	}
	if _, err := enfmail.New("", "a@b.c", ""); err == nil {
		t.Error("no transport at all must be an error")
	}
}
