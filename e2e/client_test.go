package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// apiClient speaks to the API as an outside portal would: JSON over HTTP, a Bearer token.
type apiClient struct {
	t      *testing.T
	base   string
	token  string
	header http.Header // sent with every request
}

func (s *stack) login(login, password string) *apiClient {
	c := &apiClient{t: s.t, base: s.api}
	var out struct {
		Token string `json:"token"`
		Role  string `json:"role"`
	}
	c.do(http.MethodPost, "/api/v1/auth/login", map[string]string{"login": login, "password": password}, http.StatusOK, &out)
	if out.Token == "" {
		s.t.Fatalf("login %s: no token", login)
	}
	c.token = out.Token
	return c
}

// do sends body as JSON, checks the status and decodes the answer into out (if not nil).
func (c *apiClient) do(method, path string, body any, want int, out any) []byte {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return raw
}

// postForm submits a browser form, as the simulator's buttons do.
func postForm(t *testing.T, target string, form url.Values) *http.Response {
	t.Helper()
	resp, err := http.PostForm(target, form)
	if err != nil {
		t.Fatalf("POST %s: %v", target, err)
	}
	return resp
}
