package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/enfance/enfance/mail"
)

// sendLater sends m in the background, so that no request waits on an SMTP server
// and "forgot password" answers in the same time whether or not a mail leaves. The
// outbound_emails row records what was sent; a failed send is logged (without the
// body: it may hold a password link) and not retried — the family can ask again.
// Server.Wait waits for the sends in flight.
func (s *Server) sendLater(orgID uuid.UUID, m mail.Message) {
	if m.Key == "" {
		m.Key = "api:" + uuid.NewString()
	}
	s.background(func(ctx context.Context) {
		if _, err := mail.Once(ctx, s.q, s.mail, orgID, m.Key, strings.Join(m.To, ", "), m.Subject, func() (mail.Message, error) {
			return m, nil
		}); err != nil {
			s.log.Error("mail not sent", zap.String("mail_key", m.Key), zap.String("subject", m.Subject), zap.Error(err))
		}
	})
}

// tell e-mails text to the address to, if there is one (sendLater), and says
// whether there was.
func (s *Server) tell(orgID uuid.UUID, to, key, subject, text string) bool {
	if to == "" {
		return false
	}
	s.sendLater(orgID, mail.Message{Key: key, To: []string{to}, Subject: subject, Text: text})
	return true
}

// background runs fn after the request, with a minute to finish; Wait waits for it.
func (s *Server) background(fn func(ctx context.Context)) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		fn(ctx)
	}()
}

// backgroundSlot runs fn in the background if one of the backgroundSlots is free,
// and reports whether it did: work a request hands over without waiting for it
// stays bounded under a flood.
func (s *Server) backgroundSlot(fn func(ctx context.Context)) bool {
	select {
	case s.slots <- struct{}{}:
	default:
		return false
	}
	s.background(func(ctx context.Context) {
		defer func() { <-s.slots }()
		fn(ctx)
	})
	return true
}

// backgroundSlots bounds the work handed over by requests (backgroundSlot).
const backgroundSlots = 32

var errBusy = problem(http.StatusServiceUnavailable, "busy", "Service très sollicité", "Trop de demandes en même temps ; réessayez dans une minute.")

// Wait blocks until the e-mails being sent in the background are done; call it
// after the HTTP server has stopped.
func (s *Server) Wait() { s.bg.Wait() }

// portalLink is a link into the family portal served at PUBLIC_URL. Fragment
// routes ("/#/reset?token=…") keep the token out of every server's access log:
// browsers never send the fragment.
func (s *Server) portalLink(route string, query url.Values) string {
	link := strings.TrimRight(s.cfg.PublicURL, "/") + "/#/" + route
	if len(query) > 0 {
		link += "?" + query.Encode()
	}
	return link
}

// brokenMailer stands in when the mail configuration is unusable: the API still
// serves, and each send fails (and is logged) with the configuration error.
type brokenMailer struct{ err error }

func (b brokenMailer) Send(context.Context, mail.Message) error { return b.err }
