package api

import (
	"bytes"
	"testing"

	"github.com/enfance/enfance/booking"
)

// FuzzDecodeCartItems: whatever a client sends, decoding never panics, and what it
// accepts is 1 to 400 items, each with both IDs and a real date.
func FuzzDecodeCartItems(f *testing.F) {
	for _, seed := range []string{
		`{"items":[{"child_id":"3f4000d8-b80c-44d3-89ec-f70163856ad5","service_id":"234d4f26-7104-4fed-9392-ac0e20060443","date":"2026-12-03"}]}`,
		`{"items":[]}`, `{"items":[{"child_id":"x"}]}`, `{"items":null}`, `[]`, `{}`, ``, `{"items":[{"date":"2026-02-30"}]}`,
		`{"items":[{"child_id":"3f4000d8-b80c-44d3-89ec-f70163856ad5","service_id":"234d4f26-7104-4fed-9392-ac0e20060443","date":"03/12/2026"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, bad := decodeCartItems(bytes.NewReader(body))
		if bad != nil {
			if bad.Status != 400 || items != nil {
				t.Fatalf("refusal %+v with items %v", bad, items)
			}
			return
		}
		if len(items) == 0 || len(items) > maxItems {
			t.Fatalf("accepted %d items", len(items))
		}
		for _, it := range items {
			if _, err := booking.ParseDay(it.Date); err != nil || it.ChildID.String() == "00000000-0000-0000-0000-000000000000" {
				t.Fatalf("accepted a bad item %+v", it)
			}
		}
	})
}
