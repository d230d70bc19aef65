package api_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/google/uuid"
)

// Paginated lists walk every record once, in order, page after page.
func TestPaginatedLists(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("")
	staff := e.session(org, "admin", nil)
	want := []string{}
	for i := range 7 {
		// Equal names too: the cursor must tell them apart by id.
		name := "Famille " + strconv.Itoa(i/2)
		e.newFamily(org, name)
		want = append(want, name)
	}
	type pageDoc struct {
		Items []struct {
			ID   uuid.UUID `json:"id"`
			Name string    `json:"name"`
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	seen := map[uuid.UUID]bool{}
	var names []string
	path := "/api/v1/admin/families?limit=2"
	for pages := 0; ; pages++ {
		var p pageDoc
		staff.expect(http.MethodGet, path, nil, http.StatusOK, &p)
		for _, f := range p.Items {
			if seen[f.ID] {
				t.Fatalf("family %s twice", f.ID)
			}
			seen[f.ID] = true
			names = append(names, f.Name)
		}
		if p.NextCursor == nil {
			break
		}
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		path = "/api/v1/admin/families?limit=2&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	if len(names) != len(want) {
		t.Fatalf("walked %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("walked %v, want %v", names, want)
		}
	}
	staff.fails(http.MethodGet, "/api/v1/admin/families?cursor=bm90IGpzb24", nil, nil, http.StatusBadRequest, "invalid-request")

	// The audit log pages back from the newest entry.
	fam := e.newFamily(org, "Audit")
	for i := range 5 {
		staff.expect(http.MethodPatch, "/api/v1/admin/families/"+fam.String(), map[string]any{"qf": 100 + i}, http.StatusOK, nil)
	}
	var ids []int64
	path = "/api/v1/admin/audit?entity=family&entity_id=" + fam.String() + "&limit=2"
	for {
		var p struct {
			Items []struct {
				ID    int64          `json:"id"`
				After map[string]any `json:"after"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		staff.expect(http.MethodGet, path, nil, http.StatusOK, &p)
		for _, it := range p.Items {
			ids = append(ids, it.ID)
			if qf := int(it.After["qf"].(float64)); qf != 104-(len(ids)-1) {
				t.Fatalf("entry %d has qf %d", len(ids), qf)
			}
		}
		if p.NextCursor == nil {
			break
		}
		path = "/api/v1/admin/audit?entity=family&entity_id=" + fam.String() + "&limit=2&cursor=" + *p.NextCursor
	}
	if len(ids) != 5 {
		t.Fatalf("audit entries %v", ids)
	}
}
