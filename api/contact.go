package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/check"
	"github.com/enfance/enfance/contact"
	"github.com/enfance/enfance/db"
	enfmail "github.com/enfance/enfance/mail"
)

// Messages (package contact): the family writes to the service and answers in its
// threads; staff read and reply.
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

// Attachments: at most 5 files of 10 MB each, PDF, JPEG or PNG as their content
// says (the file name and the browser's Content-Type are not trusted).
const (
	maxFiles     = 5
	maxFileBytes = 10 << 20
	maxTextBytes = 64 << 10
)

var allowedTypes = map[string]bool{"application/pdf": true, "image/jpeg": true, "image/png": true}

var categories = map[string]bool{"question": true, "document": true, "situation_change": true}

type upload struct {
	filename    string
	contentType string
	data        []byte
}

type messageForm struct {
	fields map[string]string
	files  []upload
}

func errFileTooLarge(name string) *Problem {
	p := problem(http.StatusRequestEntityTooLarge, "file-too-large", "Fichier trop volumineux",
		fmt.Sprintf("Le fichier « %s » dépasse 10 Mo. Réduisez-le (scan en qualité moindre, PDF compressé) et réessayez.", name))
	p.Errors = []FieldError{{Field: "files[]", Message: "10 Mo au plus par fichier", Reason: "too_large"}}
	return p
}

func errFileType(name string) *Problem {
	p := problem(http.StatusUnsupportedMediaType, "unsupported-file-type", "Type de fichier refusé",
		fmt.Sprintf("Le fichier « %s » n'est ni un PDF, ni une image JPEG ou PNG. Seuls ces formats sont acceptés.", name))
	p.Errors = []FieldError{{Field: "files[]", Message: "PDF, JPEG ou PNG uniquement", Reason: "unsupported_type"}}
	return p
}

var errTooManyFiles = func() *Problem {
	p := problem(http.StatusRequestEntityTooLarge, "too-many-files", "Trop de fichiers",
		fmt.Sprintf("Un message peut porter %d pièces jointes au plus.", maxFiles))
	p.Errors = []FieldError{{Field: "files[]", Message: fmt.Sprintf("%d fichiers au plus", maxFiles), Reason: "too_many"}}
	return p
}()

// readMessageForm reads a multipart message part by part, never holding more than
// one file beyond the limit: an oversized or unwanted file stops the reading, and
// nothing is stored.
func readMessageForm(c *gin.Context) (messageForm, error) {
	form := messageForm{fields: map[string]string{}}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFiles*(maxFileBytes+4096)+maxTextBytes*4)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return form, badRequest("Formulaire multipart/form-data attendu (champs subject, body, category, files[]).")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return form, nil
		}
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return form, errFileTooLarge("?")
		} else if err != nil {
			return form, badRequest("Formulaire illisible.")
		}
		switch name := part.FormName(); {
		case name == "files[]" || name == "files":
			if len(form.files) == maxFiles {
				return form, errTooManyFiles
			}
			f, err := readFile(part)
			if err != nil {
				return form, err
			}
			if f != nil {
				form.files = append(form.files, *f)
			}
		case name != "":
			b, err := io.ReadAll(io.LimitReader(part, maxTextBytes+1))
			if err != nil {
				if errors.As(err, &maxErr) {
					return form, problem(http.StatusRequestEntityTooLarge, "request-too-large", "Message trop volumineux", "Le message dépasse la taille permise.")
				}
				return form, badRequest("Formulaire illisible.")
			}
			if len(b) > maxTextBytes {
				return form, badRequest("Texte trop long.", FieldError{Field: name, Message: "64 Ko au plus"})
			}
			form.fields[name] = string(b)
		}
	}
}

// readFile reads one file part; an empty file input (no file chosen) is nil.
func readFile(part *multipart.Part) (*upload, error) {
	name := cleanFilename(part.FileName())
	data, err := io.ReadAll(io.LimitReader(part, maxFileBytes+1))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return nil, errFileTooLarge(name)
	} else if err != nil {
		return nil, badRequest("Fichier illisible.")
	}
	if len(data) > maxFileBytes {
		return nil, errFileTooLarge(name)
	}
	if len(data) == 0 {
		if part.FileName() == "" {
			return nil, nil
		}
		return nil, badRequest(fmt.Sprintf("Le fichier « %s » est vide.", name), FieldError{Field: "files[]", Message: "fichier vide"})
	}
	ct, _, _ := mime.ParseMediaType(http.DetectContentType(data))
	if !allowedTypes[ct] {
		return nil, errFileType(name)
	}
	return &upload{filename: name, contentType: ct, data: data}, nil
}

// cleanFilename keeps a file's base name, printable, 150 characters at most.
func cleanFilename(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) || r == '"' {
			return -1
		}
		return r
	}, name)
	if utf8.RuneCountInString(name) > 150 {
		name = string([]rune(name)[:150])
	}
	if name == "" || name == "." || name == "/" {
		name = "piece-jointe"
	}
	return name
}

// finish drains what the client is still sending after a refusal, within the
// request's byte limit, so that it reads the answer instead of a reset connection.
func finish(c *gin.Context) { _, _ = io.Copy(io.Discard, c.Request.Body) }

// postMessage stores a family's message and its attachments in one transaction and
// tells the org's staff by e-mail.
func (s *Server) postMessage(c *gin.Context) {
	who := callerOf(c)
	s.allowSlowUpload(c)
	form, err := readMessageForm(c)
	if err != nil {
		finish(c)
		fail(c, s.log, err)
		return
	}
	subject, body, category := strings.TrimSpace(form.fields["subject"]), strings.TrimSpace(form.fields["body"]), form.fields["category"]
	var errs []FieldError
	if msg := check.Required(200)(subject); msg != "" {
		errs = append(errs, FieldError{Field: "subject", Message: msg})
	}
	if msg := check.Required(10000)(body); msg != "" {
		errs = append(errs, FieldError{Field: "body", Message: msg})
	}
	if !categories[category] {
		errs = append(errs, FieldError{Field: "category", Message: "question, document ou situation_change"})
	}
	if len(errs) > 0 {
		fail(c, s.log, badRequest("Message incomplet.", errs...))
		return
	}
	var msg db.Message
	var fam db.Family
	var org db.Org
	err = pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		var err error
		// The family's lock makes its quota hold under parallel uploads.
		if fam, err = q.LockFamily(c, db.LockFamilyParams{OrgID: who.OrgID, ID: *who.FamilyID}); err != nil {
			return notFoundOr(err)
		}
		if err := s.contact.Quota.Check(c, q, who.OrgID, fam.ID, contactFiles(form.files)); err != nil {
			return contactError(err)
		}
		if org, err = q.GetOrg(c, who.OrgID); err != nil {
			return err
		}
		msg, err = q.InsertMessage(c, db.InsertMessageParams{
			ID: uuid.New(), OrgID: who.OrgID, FamilyID: fam.ID, AuthorID: &who.UserID,
			Category: category, Subject: subject, Body: body,
		})
		if err != nil {
			return err
		}
		return insertAttachments(c, q, msg.ID, form.files)
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	if org.Email != "" {
		s.sendLater(who.OrgID, enfmail.Message{
			Key: "message:" + msg.ID.String(), To: []string{org.Email},
			Subject: "Nouveau message de la famille " + fam.Name + " : " + subject,
			Text: fmt.Sprintf("La famille %s a écrit au service (%s), avec %d pièce(s) jointe(s).\n\nObjet : %s\n\n"+
				"Lisez et répondez depuis la messagerie du back-office (message %s).\n",
				fam.Name, categoryLabel(category), len(form.files), subject, msg.ID),
		})
	} else {
		s.log.Warn("org has no e-mail: staff not told of a new message")
	}
	threads, err := s.loadThreads(c, []db.Message{msg})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, threads[0])
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

// contactError maps the contact package's errors to their answers.
func contactError(err error) error {
	var quota *contact.QuotaError
	switch {
	case errors.As(err, &quota):
		return attachmentQuota(quota)
	case errors.Is(err, contact.ErrNotFound):
		return errNotFound
	}
	return err
}

func messagesFR(n int64) string {
	if n < 2 {
		return fmt.Sprintf("%d message", n)
	}
	return fmt.Sprintf("%d messages", n)
}

func insertAttachments(c *gin.Context, q *db.Queries, messageID uuid.UUID, files []upload) error {
	return contact.Attach(c, q, messageID, contactFiles(files))
}

func contactFiles(files []upload) []contact.File {
	out := make([]contact.File, len(files))
	for i, f := range files {
		out[i] = contact.File{Name: f.filename, ContentType: f.contentType, Data: f.data}
	}
	return out
}

// readReply reads a reply: JSON {body}, or multipart with body and files[] (a
// refusal has been answered when err is not nil).
func (s *Server) readReply(c *gin.Context) (string, []upload, bool) {
	var body string
	var files []upload
	if strings.HasPrefix(c.ContentType(), "multipart/") {
		s.allowSlowUpload(c)
		form, err := readMessageForm(c)
		if err != nil {
			finish(c)
			fail(c, s.log, err)
			return "", nil, false
		}
		body, files = form.fields["body"], form.files
	} else {
		var req struct {
			Body string `json:"body"`
		}
		if err := c.ShouldBindJSON(&req); err != nil {
			fail(c, s.log, badRequest("Corps JSON {body} attendu."))
			return "", nil, false
		}
		body = req.Body
	}
	body = strings.TrimSpace(body)
	if msg := check.Required(10000)(body); msg != "" {
		fail(c, s.log, badRequest("Réponse vide.", FieldError{Field: "body", Message: msg}))
		return "", nil, false
	}
	return body, files, true
}

// familyReply: the family answers inside one of its threads (JSON {body}, or
// multipart with body and files[]); the service is told by e-mail.
func (s *Server) familyReply(c *gin.Context) {
	who := callerOf(c)
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	body, files, ok := s.readReply(c)
	if !ok {
		return
	}
	r, err := s.contact.FamilyReply(c, who.OrgID, *who.FamilyID, who.UserID, id, body, contactFiles(files))
	if err != nil {
		fail(c, s.log, contactError(err))
		return
	}
	if r.Org.Email != "" {
		s.sendLater(who.OrgID, enfmail.Message{
			Key: "message:" + r.Message.ID.String(), To: []string{r.Org.Email},
			Subject: "Réponse de la famille " + r.Family.Name + " : " + r.Thread.Subject,
			Text: fmt.Sprintf("La famille %s a répondu dans la conversation « %s », avec %d pièce(s) jointe(s).\n\n"+
				"Lisez et répondez depuis la messagerie du back-office (conversation %s).\n",
				r.Family.Name, r.Thread.Subject, len(files), r.Thread.ID),
		})
	}
	msgs, err := s.q.ListFamilyMessages(c, db.ListFamilyMessagesParams{OrgID: who.OrgID, FamilyID: *who.FamilyID})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	threads, err := s.loadThreads(c, msgs)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	for _, t := range threads {
		if t.ID == r.Thread.ID {
			c.JSON(http.StatusCreated, t)
			return
		}
	}
	fail(c, s.log, fmt.Errorf("thread %s not listed after a reply", r.Thread.ID))
}

func categoryLabel(c string) string {
	switch c {
	case "document":
		return "envoi de document"
	case "situation_change":
		return "changement de situation"
	}
	return "question"
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

// loadThreads groups messages (ordered by time) into threads, newest activity
// first, with their attachments' metadata.
func (s *Server) loadThreads(c *gin.Context, msgs []db.Message) ([]threadJSON, error) {
	ids := make([]uuid.UUID, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	atts, err := s.q.ListAttachmentMeta(c, ids)
	if err != nil {
		return nil, err
	}
	byMsg := map[uuid.UUID][]attachmentJSON{}
	for _, a := range atts {
		byMsg[a.MessageID] = append(byMsg[a.MessageID], attachmentJSON{ID: a.ID, Filename: a.Filename, ContentType: a.ContentType, SizeBytes: a.SizeBytes})
	}
	var order []uuid.UUID
	threads := map[uuid.UUID]*threadJSON{}
	for _, m := range msgs {
		root := m.ID
		if m.ParentID != nil {
			root = *m.ParentID
		}
		t := threads[root]
		if t == nil {
			t = &threadJSON{ID: root, FamilyID: m.FamilyID, Category: m.Category, Subject: m.Subject, CreatedAt: m.CreatedAt}
			threads[root] = t
			order = append(order, root)
		}
		a := byMsg[m.ID]
		if a == nil {
			a = []attachmentJSON{}
		}
		t.Messages = append(t.Messages, messageJSON{ID: m.ID, FromStaff: m.FromStaff, Body: m.Body, CreatedAt: m.CreatedAt, Attachments: a})
		t.LastMessageAt = m.CreatedAt
	}
	out := make([]threadJSON, 0, len(order))
	for i := len(order) - 1; i >= 0; i-- {
		out = append(out, *threads[order[i]])
	}
	// Newest activity first: a reply brings an old thread up.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].LastMessageAt.After(out[j-1].LastMessageAt); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// familyMessages lists the family's threads with the staff's replies.
func (s *Server) familyMessages(c *gin.Context) {
	who := callerOf(c)
	msgs, err := s.q.ListFamilyMessages(c, db.ListFamilyMessagesParams{OrgID: who.OrgID, FamilyID: *who.FamilyID})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out, err := s.loadThreads(c, msgs)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) familyAttachment(c *gin.Context) {
	who := callerOf(c)
	msgID, err1 := uuid.Parse(c.Param("id"))
	attID, err2 := uuid.Parse(c.Param("att_id"))
	if err1 != nil || err2 != nil {
		fail(c, s.log, errNotFound)
		return
	}
	a, err := s.q.GetFamilyAttachment(c, db.GetFamilyAttachmentParams{OrgID: who.OrgID, FamilyID: *who.FamilyID, MessageID: msgID, ID: attID})
	if err != nil {
		fail(c, s.log, notFoundOr(err))
		return
	}
	serveAttachment(c, a)
}

func (s *Server) staffAttachment(c *gin.Context) {
	who := callerOf(c)
	msgID, err1 := uuid.Parse(c.Param("id"))
	attID, err2 := uuid.Parse(c.Param("att_id"))
	if err1 != nil || err2 != nil {
		fail(c, s.log, errNotFound)
		return
	}
	a, err := s.q.GetOrgAttachment(c, db.GetOrgAttachmentParams{OrgID: who.OrgID, MessageID: msgID, ID: attID})
	if err != nil {
		fail(c, s.log, notFoundOr(err))
		return
	}
	serveAttachment(c, a)
}

// serveAttachment sends a stored file as a download, never rendered in the page.
func serveAttachment(c *gin.Context, a db.Attachment) {
	c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Cache-Control", "private, no-store")
	c.Data(http.StatusOK, a.ContentType, a.Content)
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
	who := callerOf(c)
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
	rows, err := s.q.ListOrgThreads(c, db.ListOrgThreadsParams{
		OrgID: who.OrgID, WaitingOnly: c.Query("waiting") == "true", Lim: int32(limit + 1), Off: int32(off),
	})
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

// staffThread reads one of the org's threads (by its first message's id).
func (s *Server) staffThread(c *gin.Context, id uuid.UUID) (threadJSON, bool) {
	who := callerOf(c)
	root, err := s.q.GetOrgThread(c, db.GetOrgThreadParams{OrgID: who.OrgID, ID: id})
	if err != nil {
		fail(c, s.log, notFoundOr(err))
		return threadJSON{}, false
	}
	rows, err := s.q.ListThreadMessages(c, db.ListThreadMessagesParams{OrgID: who.OrgID, ThreadID: root.ID})
	if err != nil {
		fail(c, s.log, err)
		return threadJSON{}, false
	}
	msgs := make([]db.Message, len(rows))
	logins := map[uuid.UUID]string{}
	reads := map[uuid.UUID]*time.Time{}
	for i, r := range rows {
		msgs[i] = db.Message{ID: r.ID, OrgID: r.OrgID, FamilyID: r.FamilyID, ParentID: r.ParentID, AuthorID: r.AuthorID,
			FromStaff: r.FromStaff, Category: r.Category, Subject: r.Subject, Body: r.Body, ReadAt: r.ReadAt, CreatedAt: r.CreatedAt}
		logins[r.ID], reads[r.ID] = r.AuthorLogin, r.ReadAt
	}
	threads, err := s.loadThreads(c, msgs)
	if err != nil {
		fail(c, s.log, err)
		return threadJSON{}, false
	}
	t := threads[0]
	t.FamilyName = root.FamilyName
	for i := range t.Messages {
		t.Messages[i].AuthorLogin = logins[t.Messages[i].ID]
		t.Messages[i].ReadAt = reads[t.Messages[i].ID]
	}
	return t, true
}

func (s *Server) thread(c *gin.Context) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	if t, ok := s.staffThread(c, id); ok {
		c.JSON(http.StatusOK, t)
	}
}

// reply answers a thread: JSON {body}, or multipart with body and files[] to send
// documents back. The family's messages of the thread count as read, and the
// family is told by e-mail.
func (s *Server) reply(c *gin.Context) {
	who := callerOf(c)
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	body, files, ok := s.readReply(c)
	if !ok {
		return
	}
	var root db.GetOrgThreadRow
	var msg db.Message
	err = pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		var err error
		if root, err = q.GetOrgThread(c, db.GetOrgThreadParams{OrgID: who.OrgID, ID: id}); err != nil {
			return notFoundOr(err)
		}
		now := s.now()
		if msg, err = q.InsertMessage(c, db.InsertMessageParams{
			ID: uuid.New(), OrgID: who.OrgID, FamilyID: root.FamilyID, ParentID: &root.ID, AuthorID: &who.UserID, FromStaff: true,
			Category: root.Category, Subject: root.Subject, Body: body,
		}); err != nil {
			return err
		}
		if err := insertAttachments(c, q, msg.ID, files); err != nil {
			return err
		}
		if err := q.MarkThreadRead(c, db.MarkThreadReadParams{OrgID: who.OrgID, ThreadID: root.ID, Now: now}); err != nil {
			return err
		}
		return s.audit(c, q, who.OrgID, &who.UserID, "message.reply", "message", msg.ID.String(), nil,
			gin.H{"thread_id": root.ID, "family_id": root.FamilyID, "attachments": len(files)})
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	if root.FamilyEmail != "" {
		s.sendLater(who.OrgID, enfmail.Message{
			Key: "reply:" + msg.ID.String(), To: []string{root.FamilyEmail},
			Subject: "Réponse à votre message : " + root.Subject,
			Text: "Bonjour,\n\nLe service a répondu à votre message « " + root.Subject + " ».\n" +
				"Connectez-vous au portail famille pour la lire : " + s.portalLink("messages", nil) + "\n",
		})
	}
	if t, ok := s.staffThread(c, root.ID); ok {
		c.JSON(http.StatusCreated, t)
	}
}
