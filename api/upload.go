package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/enfance/enfance/contact"
)

// Reading a message with attachments: multipart/form-data, read as a stream,
// each file checked by its content.

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

// contactFiles are the form's files as package contact stores them.
func contactFiles(files []upload) []contact.File {
	out := make([]contact.File, len(files))
	for i, f := range files {
		out[i] = contact.File{Name: f.filename, ContentType: f.contentType, Data: f.data}
	}
	return out
}
