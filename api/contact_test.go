package api_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/enfance/enfance/config"
)

type upload struct {
	name, contentType string
	data              []byte
}

// form builds a multipart body; files go in files[] with the browser's claimed type.
func form(fields map[string]string, files ...upload) ([]byte, http.Header) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="files[]"; filename="`+f.name+`"`)
		h.Set("Content-Type", f.contentType)
		part, _ := w.CreatePart(h)
		_, _ = part.Write(f.data)
	}
	_ = w.Close()
	return buf.Bytes(), http.Header{"Content-Type": {w.FormDataContentType()}}
}

var (
	pdfFile = upload{"avis d'imposition.pdf", "application/pdf", []byte("%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")}
	pngFile = upload{"attestation.png", "image/png", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{1}, 100)...)}
	jpgFile = upload{"C:\\Users\\moi\\photo.jpg", "image/jpeg", append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{2}, 100)...)}
)

type threadDoc struct {
	ID         uuid.UUID `json:"id"`
	Category   string    `json:"category"`
	Subject    string    `json:"subject"`
	FamilyName string    `json:"family_name"`
	Messages   []struct {
		ID          uuid.UUID `json:"id"`
		FromStaff   bool      `json:"from_staff"`
		Body        string    `json:"body"`
		Attachments []struct {
			ID          uuid.UUID `json:"id"`
			Filename    string    `json:"filename"`
			ContentType string    `json:"content_type"`
			SizeBytes   int       `json:"size_bytes"`
		} `json:"attachments"`
	} `json:"messages"`
}

func TestContactMessagesWithDocuments(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("accueil@ville.test")
	fam := e.newFamily(org, "Martin")
	parent := e.session(org, "family", &fam)
	agent := e.session(org, "agent", nil)
	fields := map[string]string{"subject": "Nouveau quotient", "body": "Bonjour, voici notre avis d'imposition.", "category": "document"}

	stored := func() int {
		return e.count(`SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM attachments)`)
	}
	// Refusals first: each leaves nothing stored.
	refuse := func(body []byte, h http.Header, status int, slug, inDetail string) {
		t.Helper()
		p := parent.fails(http.MethodPost, "/api/v1/messages", body, h, status, slug)
		if !strings.Contains(p.Detail, inDetail) {
			t.Fatalf("detail %q lacks %q", p.Detail, inDetail)
		}
		if n := stored(); n != 0 {
			t.Fatalf("a refused message stored %d rows", n)
		}
	}
	big := upload{"scan.pdf", "application/pdf", append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{'x'}, 10<<20)...)}
	b, h := form(fields, pdfFile, big)
	refuse(b, h, http.StatusRequestEntityTooLarge, "file-too-large", "« scan.pdf » dépasse 10 Mo")
	exactly := upload{"juste.pdf", "application/pdf", append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{'x'}, 10<<20-9)...)}
	fake := upload{"faux.pdf", "application/pdf", []byte("<html><script>alert(1)</script></html>")}
	b, h = form(fields, pngFile, fake)
	refuse(b, h, http.StatusUnsupportedMediaType, "unsupported-file-type", "« faux.pdf » n'est ni un PDF")
	exe := upload{"photo.jpg", "image/jpeg", append([]byte("MZ\x90\x00"), bytes.Repeat([]byte{0}, 200)...)}
	b, h = form(fields, exe)
	refuse(b, h, http.StatusUnsupportedMediaType, "unsupported-file-type", "photo.jpg")
	b, h = form(fields, pdfFile, pdfFile, pdfFile, pdfFile, pdfFile, pdfFile)
	refuse(b, h, http.StatusRequestEntityTooLarge, "too-many-files", "5 pièces jointes")
	b, h = form(map[string]string{"subject": "x", "body": "y", "category": "autre"}, pdfFile)
	refuse(b, h, http.StatusBadRequest, "invalid-request", "incomplet")
	refuse(nil, nil, http.StatusBadRequest, "invalid-request", "multipart")

	b, h = form(fields, pdfFile, pngFile, jpgFile, exactly)
	r := parent.send(http.MethodPost, "/api/v1/messages", b, h)
	if r.status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	var posted threadDoc
	decode(t, r.body, &posted)
	atts := posted.Messages[0].Attachments
	if posted.Category != "document" || len(atts) != 4 || atts[2].Filename != "photo.jpg" || atts[2].ContentType != "image/jpeg" ||
		atts[3].SizeBytes != 10<<20 || atts[0].ContentType != "application/pdf" {
		t.Fatalf("posted %s", r.body)
	}
	m := e.mail.next(t)
	if m.To[0] != "accueil@ville.test" || !strings.Contains(m.Subject, "Martin") || !strings.Contains(m.Text, "4 pièce(s) jointe(s)") {
		t.Fatalf("staff mail %+v", m)
	}

	dl := parent.send(http.MethodGet, "/api/v1/messages/"+posted.Messages[0].ID.String()+"/attachments/"+atts[1].ID.String(), nil, nil)
	if dl.status != http.StatusOK || !bytes.Equal(dl.body, pngFile.data) || dl.header.Get("Content-Type") != "image/png" ||
		dl.header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(dl.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %v", dl.status, dl.header)
	}

	var inbox struct {
		Items []struct {
			ID      uuid.UUID `json:"id"`
			Waiting bool      `json:"waiting"`
			Unread  int       `json:"unread"`
		} `json:"items"`
	}
	agent.expect(http.MethodGet, "/api/v1/admin/messages?waiting=true", nil, http.StatusOK, &inbox)
	if len(inbox.Items) != 1 || inbox.Items[0].ID != posted.ID || !inbox.Items[0].Waiting || inbox.Items[0].Unread != 1 {
		t.Fatalf("inbox %+v", inbox)
	}
	var th threadDoc
	agent.expect(http.MethodGet, "/api/v1/admin/messages/"+posted.ID.String(), nil, http.StatusOK, &th)
	if th.FamilyName != "Martin" || len(th.Messages) != 1 {
		t.Fatalf("thread %+v", th)
	}
	sdl := agent.send(http.MethodGet, "/api/v1/admin/messages/"+posted.Messages[0].ID.String()+"/attachments/"+atts[0].ID.String(), nil, nil)
	if sdl.status != http.StatusOK || !bytes.Equal(sdl.body, pdfFile.data) {
		t.Fatalf("staff download %d", sdl.status)
	}
	agent.fails(http.MethodPost, "/api/v1/admin/messages/"+posted.ID.String()+"/reply", map[string]string{"body": "  "}, nil, http.StatusBadRequest, "invalid-request")
	agent.expect(http.MethodPost, "/api/v1/admin/messages/"+posted.ID.String()+"/reply", map[string]string{"body": "Merci, c'est enregistré."}, http.StatusCreated, &th)
	if len(th.Messages) != 2 || !th.Messages[1].FromStaff {
		t.Fatalf("after reply %+v", th)
	}
	if m := e.mail.next(t); m.To[0] != "martin@famille.test" || !strings.Contains(m.Subject, "Nouveau quotient") {
		t.Fatalf("family mail %+v", m)
	}
	// A reply with a document back.
	b, h = form(map[string]string{"body": "Voici l'attestation."}, pdfFile)
	if r := agent.send(http.MethodPost, "/api/v1/admin/messages/"+posted.ID.String()+"/reply", b, h); r.status != http.StatusCreated {
		t.Fatalf("multipart reply: %d %s", r.status, r.body)
	}
	e.mail.next(t)

	agent.expect(http.MethodGet, "/api/v1/admin/messages?waiting=true", nil, http.StatusOK, &inbox)
	if len(inbox.Items) != 0 {
		t.Fatalf("answered thread still waiting: %+v", inbox)
	}
	var threads []threadDoc
	parent.expect(http.MethodGet, "/api/v1/messages", nil, http.StatusOK, &threads)
	if len(threads) != 1 || len(threads[0].Messages) != 3 || threads[0].Messages[1].Body != "Merci, c'est enregistré." ||
		len(threads[0].Messages[2].Attachments) != 1 {
		t.Fatalf("family threads %+v", threads)
	}
	reply := threads[0].Messages[2]
	if dl := parent.send(http.MethodGet, "/api/v1/messages/"+reply.ID.String()+"/attachments/"+reply.Attachments[0].ID.String(), nil, nil); dl.status != http.StatusOK {
		t.Fatalf("family downloads the staff's document: %d", dl.status)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'message.reply'`); n != 2 {
		t.Fatalf("audit rows %d", n)
	}
}

// The family answers inside its thread (with a document): the thread waits for
// the service again, the staff are told, another family cannot write in it.
func TestFamilyRepliesInsideAThread(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("accueil@ville.test")
	fam := e.newFamily(org, "Martin")
	other := e.newFamily(org, "Durand")
	parent, stranger := e.session(org, "family", &fam), e.session(org, "family", &other)
	agent := e.session(org, "agent", nil)
	b, h := form(map[string]string{"subject": "Cantine du jeudi", "body": "Bonjour, une question.", "category": "question"})
	var th threadDoc
	decode(t, parent.send(http.MethodPost, "/api/v1/messages", b, h).body, &th)
	e.mail.next(t)
	var staffView threadDoc
	agent.expect(http.MethodPost, "/api/v1/admin/messages/"+th.ID.String()+"/reply", map[string]string{"body": "Pouvez-vous préciser ?"}, http.StatusCreated, &staffView)
	e.mail.next(t)

	path := "/api/v1/messages/" + th.ID.String() + "/reply"
	parent.fails(http.MethodPost, path, map[string]string{"body": " "}, nil, http.StatusBadRequest, "invalid-request")
	stranger.fails(http.MethodPost, path, map[string]string{"body": "intrus"}, nil, http.StatusNotFound, "not-found")
	// A reply is not a thread: replying to it is replying to nothing.
	parent.fails(http.MethodPost, "/api/v1/messages/"+staffView.Messages[1].ID.String()+"/reply", map[string]string{"body": "?"}, nil, http.StatusNotFound, "not-found")
	b, h = form(map[string]string{"body": "Le jeudi 3, merci."}, pdfFile)
	r := parent.send(http.MethodPost, path, b, h)
	if r.status != http.StatusCreated {
		t.Fatalf("reply: %d %s", r.status, r.body)
	}
	decode(t, r.body, &th)
	if len(th.Messages) != 3 || th.Messages[2].FromStaff || th.Messages[2].Body != "Le jeudi 3, merci." || len(th.Messages[2].Attachments) != 1 {
		t.Fatalf("thread after the family's reply: %s", r.body)
	}
	if m := e.mail.next(t); m.To[0] != "accueil@ville.test" || !strings.Contains(m.Subject, "Martin") || !strings.Contains(m.Subject, "Cantine du jeudi") {
		t.Fatalf("staff mail %+v", m)
	}
	var inbox struct {
		Items []struct {
			ID      uuid.UUID `json:"id"`
			Waiting bool      `json:"waiting"`
		} `json:"items"`
	}
	agent.expect(http.MethodGet, "/api/v1/admin/messages?waiting=true", nil, http.StatusOK, &inbox)
	if len(inbox.Items) != 1 || inbox.Items[0].ID != th.ID {
		t.Fatalf("the thread does not wait for the service again: %+v", inbox)
	}
	parent.expect(http.MethodPost, path, map[string]string{"body": "Et le vendredi aussi."}, http.StatusCreated, &th)
	if len(th.Messages) != 4 {
		t.Fatalf("JSON reply: %+v", th)
	}
	if n := e.count(`SELECT count(*) FROM messages WHERE family_id = $1`, other); n != 0 {
		t.Fatalf("%d messages for the other family", n)
	}
}

// A family's documents are bounded: ATTACHMENT_MESSAGES_PER_DAY messages with
// attachments in 24 hours, ATTACHMENT_BYTES_PER_MONTH bytes in 30 days, even when
// it sends in parallel, new messages and replies in its threads alike. Past
// either, a clear French refusal and nothing stored; a message without
// attachments still goes, and staff replies never count.
func TestAttachmentQuotaPerFamily(t *testing.T) {
	e := newAccountEnv(t, func(c *config.Config) { c.AttachmentMessagesPerDay, c.AttachmentBytesPerMonth = 3, 1000 })
	org := e.newOrg("")
	fam, other := e.newFamily(org, "Martin"), e.newFamily(org, "Bernard")
	parent, neighbour := e.session(org, "family", &fam), e.session(org, "family", &other)
	agent := e.session(org, "agent", nil)
	fields := map[string]string{"subject": "Justificatif", "body": "Ci-joint.", "category": "document"}
	post := func(p *peer, files ...upload) response {
		body, h := form(fields, files...)
		return p.send(http.MethodPost, "/api/v1/messages", body, h)
	}
	stored := func() int { return e.count(`SELECT count(*) FROM messages WHERE family_id = $1`, fam) }

	// Ten at once: three pass.
	var wg sync.WaitGroup
	statuses := make(chan int, 10)
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); statuses <- post(parent, pdfFile).status }()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[http.StatusCreated] != 3 || counts[http.StatusTooManyRequests] != 7 || stored() != 3 {
		t.Fatalf("ten messages with a document at once: %v, %d stored", counts, stored())
	}
	body, h := form(fields, pdfFile)
	p := parent.fails(http.MethodPost, "/api/v1/messages", body, h, http.StatusTooManyRequests, "attachment-quota")
	if !strings.Contains(p.Detail, "3 messages avec pièces jointes ces dernières 24 heures") || p.Errors[0].Reason != "messages_per_day" {
		t.Fatalf("%+v", p)
	}
	if r := post(parent); r.status != http.StatusCreated {
		t.Fatalf("a message without attachment: %d %s", r.status, r.body)
	}
	if r := post(neighbour, pdfFile); r.status != http.StatusCreated {
		t.Fatalf("another family: %d %s", r.status, r.body)
	}
	var thread threadDoc
	decode(t, post(parent).body, &thread)
	// Replying inside a thread counts the same.
	replyPath := "/api/v1/messages/" + thread.ID.String() + "/reply"
	rb, rh := form(map[string]string{"body": "Et ce document."}, pdfFile)
	if p := parent.fails(http.MethodPost, replyPath, rb, rh, http.StatusTooManyRequests, "attachment-quota"); p.Errors[0].Reason != "messages_per_day" {
		t.Fatalf("%+v", p)
	}
	parent.expect(http.MethodPost, replyPath, map[string]string{"body": "Sans pièce jointe, alors."}, http.StatusCreated, nil)
	if r := agent.send(http.MethodPost, "/api/v1/admin/messages/"+thread.ID.String()+"/reply", body, h); r.status != http.StatusCreated {
		t.Fatalf("staff reply with a document: %d %s", r.status, r.body)
	}
	// A day later, the count starts again; bytes are counted over 30 days.
	_, err := e.pool.Exec(e.ctx, `UPDATE messages SET created_at = now() - interval '25 hours'`)
	e.must(err)
	big := upload{"scan.pdf", "application/pdf", append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{'x'}, 700)...)}
	if r := post(parent, big); r.status != http.StatusCreated {
		t.Fatalf("a day later: %d %s", r.status, r.body)
	}
	before := stored()
	body, h = form(fields, big)
	p = parent.fails(http.MethodPost, "/api/v1/messages", body, h, http.StatusTooManyRequests, "attachment-quota")
	if !strings.Contains(p.Detail, "limitées à 1000 octets sur 30 jours") || p.Errors[0].Reason != "bytes_per_month" || stored() != before {
		t.Fatalf("%+v (%d stored, %d before)", p, stored(), before)
	}
	_, err = e.pool.Exec(e.ctx, `UPDATE messages SET created_at = now() - interval '31 days'`)
	e.must(err)
	if r := post(parent, big); r.status != http.StatusCreated {
		t.Fatalf("a month later: %d %s", r.status, r.body)
	}
}
