package api

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/check"
	"github.com/enfance/enfance/contact"
	"github.com/enfance/enfance/db"
)

// Messages (package contact): the family writes to the service and answers in its
// threads; staff read and reply. Each side is told of a new message by e-mail.
func (s *Server) contactRoutes(r routes) {
	r.fam.POST("/messages", s.postMessage)
	r.fam.GET("/messages", s.familyMessages)
	r.fam.POST("/messages/:id/reply", s.familyReply)
	r.fam.GET("/messages/:id/attachments/:att_id", s.familyAttachment)
	r.staff.GET("/messages", s.inbox)
	r.staff.GET("/messages/:id", s.thread)
	r.staff.POST("/messages/:id/reply", s.reply)
	r.staff.GET("/messages/:id/attachments/:att_id", s.staffAttachment)
}

// postMessage stores a family's message and its attachments and tells the org's
// staff by e-mail.
func (s *Server) postMessage(c *gin.Context) {
	who := callerOf(c)
	s.allowSlowUpload(c)
	form, err := readMessageForm(c)
	if err != nil {
		finish(c)
		fail(c, s.log, err)
		return
	}
	p, err := s.contact.Post(c, who.actor(), *who.FamilyID, form.fields["subject"], form.fields["body"], form.fields["category"], contactFiles(form.files))
	if err != nil {
		fail(c, s.log, err)
		return
	}
	if !s.tell(who.OrgID, p.Org.Email, "message:"+p.Message.ID.String(),
		"Nouveau message de la famille "+p.Family.Name+" : "+p.Message.Subject,
		fmt.Sprintf("La famille %s a écrit au service (%s), avec %d pièce(s) jointe(s).\n\nObjet : %s\n\n"+
			"Lisez et répondez depuis la messagerie du back-office (message %s).\n",
			p.Family.Name, contact.Categories[p.Message.Category], len(form.files), p.Message.Subject, p.Message.ID)) {
		s.log.Warn("org has no e-mail: staff not told of a new message")
	}
	t, err := s.contact.FamilyThread(c, who.OrgID, *who.FamilyID, p.Message.ID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, threadView(t))
}

// attachmentQuota words a family's quota refusal (contact.QuotaError) for it.
func attachmentQuota(e *contact.QuotaError) *Problem {
	rule, detail := sizeFR(e.Quota.BytesPerMonth)+" de pièces jointes sur 30 jours au plus", fmt.Sprintf(
		"Les pièces jointes de votre famille sont limitées à %s sur 30 jours : %s déjà envoyés, %s dans ce message. "+
			"Réduisez la taille des fichiers (scan en qualité moindre, PDF compressé) ou réessayez plus tard.",
		sizeFR(e.Quota.BytesPerMonth), sizeFR(e.BytesMonth), sizeFR(e.Size))
	if e.Reason == "messages_per_day" {
		rule, detail = messagesFR(int64(e.Quota.MessagesPerDay))+" avec pièces jointes par 24 heures au plus", fmt.Sprintf(
			"Votre famille a déjà envoyé %s avec pièces jointes ces dernières 24 heures, le maximum. "+
				"Réessayez demain, ou envoyez votre message sans pièce jointe.", messagesFR(e.MessagesDay))
	}
	p := problem(http.StatusTooManyRequests, "attachment-quota", "Quota de pièces jointes atteint", detail)
	p.Errors = []FieldError{{Field: "files[]", Message: rule, Reason: e.Reason}}
	return p
}

func messagesFR(n int64) string {
	if n < 2 {
		return fmt.Sprintf("%d message", n)
	}
	return fmt.Sprintf("%d messages", n)
}

// readReply reads a reply to the :id thread: JSON {body}, or multipart with body
// and files[]; false: the refusal is answered.
func (s *Server) readReply(c *gin.Context) (uuid.UUID, string, []upload, bool) {
	ids, ok := s.pathIDs(c, "id")
	if !ok {
		return uuid.Nil, "", nil, false
	}
	var body string
	var files []upload
	if strings.HasPrefix(c.ContentType(), "multipart/") {
		s.allowSlowUpload(c)
		form, err := readMessageForm(c)
		if err != nil {
			finish(c)
			fail(c, s.log, err)
			return uuid.Nil, "", nil, false
		}
		body, files = form.fields["body"], form.files
	} else {
		var req struct {
			Body string `json:"body"`
		}
		if err := c.ShouldBindJSON(&req); err != nil {
			fail(c, s.log, badRequest("Corps JSON {body} attendu."))
			return uuid.Nil, "", nil, false
		}
		body = req.Body
	}
	body = strings.TrimSpace(body)
	if msg := check.Required(10000)(body); msg != "" {
		fail(c, s.log, badRequest("Réponse vide.", FieldError{Field: "body", Message: msg}))
		return uuid.Nil, "", nil, false
	}
	return ids[0], body, files, true
}

// familyReply: the family answers inside one of its threads (JSON {body}, or
// multipart with body and files[]); the service is told by e-mail.
func (s *Server) familyReply(c *gin.Context) {
	who := callerOf(c)
	id, body, files, ok := s.readReply(c)
	if !ok {
		return
	}
	r, err := s.contact.FamilyReply(c, who.OrgID, *who.FamilyID, who.UserID, id, body, contactFiles(files))
	if err != nil {
		fail(c, s.log, err)
		return
	}
	s.tell(who.OrgID, r.Org.Email, "message:"+r.Message.ID.String(), "Réponse de la famille "+r.Family.Name+" : "+r.Thread.Subject,
		fmt.Sprintf("La famille %s a répondu dans la conversation « %s », avec %d pièce(s) jointe(s).\n\n"+
			"Lisez et répondez depuis la messagerie du back-office (conversation %s).\n",
			r.Family.Name, r.Thread.Subject, len(files), r.Thread.ID))
	t, err := s.contact.FamilyThread(c, who.OrgID, *who.FamilyID, r.Thread.ID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, threadView(t))
}

type attachmentJSON struct {
	ID          uuid.UUID `json:"id"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	SizeBytes   int32     `json:"size_bytes"`
}

type messageJSON struct {
	ID          uuid.UUID        `json:"id"`
	FromStaff   bool             `json:"from_staff"`
	AuthorLogin string           `json:"author_login,omitempty"` // staff views only
	Body        string           `json:"body"`
	CreatedAt   time.Time        `json:"created_at"`
	ReadAt      *time.Time       `json:"read_at,omitempty"`
	Attachments []attachmentJSON `json:"attachments"`
}

type threadJSON struct {
	ID            uuid.UUID     `json:"id"`
	FamilyID      uuid.UUID     `json:"family_id"`
	FamilyName    string        `json:"family_name,omitempty"` // staff views only
	Category      string        `json:"category"`
	Subject       string        `json:"subject"`
	CreatedAt     time.Time     `json:"created_at"`
	LastMessageAt time.Time     `json:"last_message_at"`
	Messages      []messageJSON `json:"messages"`
}

// threadView is a thread as the portal reads it; read_at and author_login only
// in staff's views (set by staffThread).
func threadView(t contact.Thread) threadJSON {
	out := threadJSON{ID: t.Root.ID, FamilyID: t.Root.FamilyID, FamilyName: t.FamilyName, Category: t.Root.Category,
		Subject: t.Root.Subject, CreatedAt: t.Root.CreatedAt, LastMessageAt: t.LastMessageAt()}
	for _, m := range t.Messages {
		mj := messageJSON{ID: m.ID, FromStaff: m.FromStaff, Body: m.Body, CreatedAt: m.CreatedAt, Attachments: []attachmentJSON{}}
		for _, a := range m.Attachments {
			mj.Attachments = append(mj.Attachments, attachmentJSON{ID: a.ID, Filename: a.Filename, ContentType: a.ContentType, SizeBytes: a.SizeBytes})
		}
		out.Messages = append(out.Messages, mj)
	}
	return out
}

// familyMessages lists the family's threads with the staff's replies.
func (s *Server) familyMessages(c *gin.Context) {
	who := callerOf(c)
	threads, err := s.contact.FamilyThreads(c, who.OrgID, *who.FamilyID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := make([]threadJSON, 0, len(threads))
	for _, t := range threads {
		out = append(out, threadView(t))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) familyAttachment(c *gin.Context) {
	who := callerOf(c)
	if ids, ok := s.pathIDs(c, "id", "att_id"); ok {
		s.serveAttachment(c)(s.contact.FamilyAttachment(c, who.OrgID, *who.FamilyID, ids[0], ids[1]))
	}
}

func (s *Server) staffAttachment(c *gin.Context) {
	if ids, ok := s.pathIDs(c, "id", "att_id"); ok {
		s.serveAttachment(c)(s.contact.OrgAttachment(c, callerOf(c).OrgID, ids[0], ids[1]))
	}
}

// serveAttachment sends a stored file as a download, never rendered in the page.
func (s *Server) serveAttachment(c *gin.Context) func(db.Attachment, error) {
	return func(a db.Attachment, err error) {
		if err != nil {
			fail(c, s.log, err)
			return
		}
		c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))
		c.Header("X-Content-Type-Options", "nosniff")
		c.Header("Cache-Control", "private, no-store")
		c.Data(http.StatusOK, a.ContentType, a.Content)
	}
}

type inboxJSON struct {
	ID            uuid.UUID `json:"id"`
	FamilyID      uuid.UUID `json:"family_id"`
	FamilyName    string    `json:"family_name"`
	Category      string    `json:"category"`
	Subject       string    `json:"subject"`
	CreatedAt     time.Time `json:"created_at"`
	LastMessageAt time.Time `json:"last_message_at"`
	Messages      int64     `json:"messages"`
	Unread        int64     `json:"unread"`
	Waiting       bool      `json:"waiting"` // the family spoke last
}

// inbox lists the org's threads, newest activity first; ?waiting=true keeps those
// awaiting an answer.
func (s *Server) inbox(c *gin.Context) {
	limit := queryLimit(c, 50, 200)
	off := 0
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fail(c, s.log, badRequest("Curseur invalide.", FieldError{Field: "cursor", Message: "curseur invalide"}))
			return
		}
		off = n
	}
	rows, err := s.contact.Inbox(c, callerOf(c).OrgID, c.Query("waiting") == "true", limit+1, off)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := page[inboxJSON]{Items: []inboxJSON{}}
	for i, r := range rows {
		if i == limit {
			next := strconv.Itoa(off + limit)
			out.NextCursor = &next
			break
		}
		out.Items = append(out.Items, inboxJSON{ID: r.ID, FamilyID: r.FamilyID, FamilyName: r.FamilyName, Category: r.Category,
			Subject: r.Subject, CreatedAt: r.CreatedAt, LastMessageAt: r.LastMessageAt, Messages: r.Messages, Unread: r.Unread, Waiting: r.Waiting})
	}
	c.JSON(http.StatusOK, out)
}

// staffThread answers one of the org's threads as staff read it.
func (s *Server) staffThread(c *gin.Context, id uuid.UUID, status int) {
	t, err := s.contact.OrgThread(c, callerOf(c).OrgID, id)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := threadView(t)
	for i, m := range t.Messages {
		out.Messages[i].AuthorLogin, out.Messages[i].ReadAt = m.AuthorLogin, m.ReadAt
	}
	c.JSON(status, out)
}

func (s *Server) thread(c *gin.Context) {
	if ids, ok := s.pathIDs(c, "id"); ok {
		s.staffThread(c, ids[0], http.StatusOK)
	}
}

// reply answers a thread: JSON {body}, or multipart with body and files[] to send
// documents back. The family's messages of the thread count as read, and the
// family is told by e-mail.
func (s *Server) reply(c *gin.Context) {
	who := callerOf(c)
	id, body, files, ok := s.readReply(c)
	if !ok {
		return
	}
	r, err := s.contact.Answer(c, who.actor(), id, body, contactFiles(files))
	if err != nil {
		fail(c, s.log, err)
		return
	}
	s.tell(who.OrgID, r.Thread.FamilyEmail, "reply:"+r.Message.ID.String(), "Réponse à votre message : "+r.Thread.Subject,
		"Bonjour,\n\nLe service a répondu à votre message « "+r.Thread.Subject+" ».\n"+
			"Connectez-vous au portail famille pour la lire : "+s.portalLink("messages", nil)+"\n")
	s.staffThread(c, r.Thread.ID, http.StatusCreated)
}
