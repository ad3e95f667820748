package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/internal/redistest"
	"github.com/flowbridge/flowbridge/store/redisstore"
	store "github.com/flowbridge/flowbridge/store/storeapi"
)

// entry is a journal entry for order id under prefix p, with the same key
// layout the timeline uses (list and hash share the record's hash tag;
// index and link are other slots).
func entry(p, id, item string) store.Entry {
	tag := "{s.myshopify.com:" + id + "}"
	return store.Entry{
		List: p + "tl:" + tag + ":ev", Item: []byte(item), MaxItems: 3,
		Hash: p + "tl:" + tag + ":sum", SetNX: []string{"created_at", item}, Set: []string{"last_kind", item},
		SetIf: []string{"state", "in_flight", "failed"}, Incr: []string{"events"}, TTL: time.Hour,
		Index: p + "tl:index", IndexMember: "s.myshopify.com\n" + id, IndexScore: 1000, IndexTrim: 10,
		Links: []string{p + "tl:sup:{s.myshopify.com:70" + id + "}"}, LinkValue: id, LinkTTL: time.Hour,
	}
}

// journal reads what an entry wrote: the list's items, the summary, the
// index score (-1: absent) and the link.
type journal struct {
	items []string
	sum   map[string]string
	score float64
	link  string
}

func readJournal(t *testing.T, c redis.UniversalClient, e store.Entry) journal {
	t.Helper()
	ctx := context.Background()
	var j journal
	var err error
	if j.items, err = c.LRange(ctx, e.List, 0, -1).Result(); err != nil {
		t.Fatal(err)
	}
	if j.sum, err = c.HGetAll(ctx, e.Hash).Result(); err != nil {
		t.Fatal(err)
	}
	j.score, err = c.ZScore(ctx, e.Index, e.IndexMember).Result()
	if errors.Is(err, redis.Nil) {
		j.score, err = -1, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	j.link, err = c.Get(ctx, e.Links[0]).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	return j
}

// clients are the two ways a Store reaches Redis: a single server (the
// index and links go in the script) and a Cluster (they cannot: other
// slots, so they follow in a pipeline).
func clients(t *testing.T) map[string]func(t *testing.T) redis.UniversalClient {
	return map[string]func(t *testing.T) redis.UniversalClient{
		"single":  func(t *testing.T) redis.UniversalClient { return redistest.Client(t) },
		"cluster": func(t *testing.T) redis.UniversalClient { return redistest.Cluster(t) },
	}
}

func TestClaimJournal(t *testing.T) {
	for name, client := range clients(t) {
		t.Run(name, func(t *testing.T) {
			c := client(t)
			p := redistest.Prefix(t)
			s := redisstore.New(c, redisstore.Options{Prefix: p})
			ctx := context.Background()
			if _, err := s.InitEpoch(ctx); err != nil {
				t.Fatal(err)
			}
			claim := func(id, owner string, dl time.Time) (store.ClaimResult, error) {
				return s.Claim(ctx, store.Key{Shop: "s.myshopify.com", OrderID: id, Purpose: "place"}, store.ClaimRequest{
					Owner: owner, Fingerprint: "fp", Lease: time.Minute, TTL: time.Hour, Deadline: dl,
					Journal: &store.ClaimJournal{Fresh: entry(p, id, "fresh"), Takeover: entry(p, id, "takeover")}})
			}
			key := func(id string) store.Key { return store.Key{Shop: "s.myshopify.com", OrderID: id, Purpose: "place"} }

			// Fresh: the record and its entry, index and link land together.
			r, err := claim("1", "a", time.Time{})
			if err != nil || r.Status != store.ClaimFresh || !r.Journaled {
				t.Fatalf("fresh claim = %+v, %v", r, err)
			}
			j := readJournal(t, c, entry(p, "1", ""))
			if len(j.items) != 1 || j.items[0] != "fresh" || j.sum["last_kind"] != "fresh" || j.sum["events"] != "1" || j.score != 1000 || j.link != "1" {
				t.Fatalf("after a fresh claim: %+v", j)
			}
			// A re-sent claim (same owner) answers the same and appends nothing.
			if r, err = claim("1", "a", time.Time{}); err != nil || r.Status != store.ClaimFresh {
				t.Fatalf("re-sent claim = %+v, %v", r, err)
			}
			// Busy: another caller appends nothing.
			if r, err = claim("1", "b", time.Time{}); err != nil || r.Status != store.ClaimBusy || r.Journaled {
				t.Fatalf("busy claim = %+v, %v", r, err)
			}
			if j := readJournal(t, c, entry(p, "1", "")); len(j.items) != 1 || j.sum["events"] != "1" {
				t.Fatalf("re-sent and busy claims appended: %+v", j)
			}

			// Takeover of an unknown outcome appends the takeover item.
			if err := s.Complete(ctx, key("1"), store.Change{Owner: "a", To: store.StateUnknown, TTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
			if r, err = claim("1", "c", time.Time{}); err != nil || r.Status != store.ClaimTakeover || !r.Journaled {
				t.Fatalf("takeover = %+v, %v", r, err)
			}
			if j := readJournal(t, c, entry(p, "1", "")); len(j.items) != 2 || j.items[1] != "takeover" || j.sum["created_at"] != "fresh" || j.sum["events"] != "2" {
				t.Fatalf("after the takeover: %+v", j)
			}

			// Done: a final record appends nothing.
			if err := s.Complete(ctx, key("1"), store.Change{Owner: "c", To: store.StatePlaced, Result: []byte(`{}`), TTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
			if r, err = claim("1", "d", time.Time{}); err != nil || r.Status != store.ClaimDone || r.Journaled {
				t.Fatalf("done claim = %+v, %v", r, err)
			}
			if j := readJournal(t, c, entry(p, "1", "")); len(j.items) != 2 {
				t.Fatalf("a done claim appended: %+v", j)
			}

			// Late: a claim run after its caller's deadline holds nothing
			// and appends nothing.
			if _, err = claim("2", "e", time.Now().Add(-time.Second)); !errors.Is(err, store.ErrDeadline) {
				t.Fatalf("late claim: %v, want ErrDeadline", err)
			}
			if j := readJournal(t, c, entry(p, "2", "")); len(j.items) != 0 || len(j.sum) != 0 || j.score != -1 || j.link != "" {
				t.Fatalf("a late claim appended: %+v", j)
			}

			// The list keeps its last MaxItems.
			for i := 0; i < 4; i++ {
				if err := redisstore.AppendEntry(ctx, c, entry(p, "3", string(rune('a'+i)))); err != nil {
					t.Fatal(err)
				}
			}
			if j := readJournal(t, c, entry(p, "3", "")); len(j.items) != 3 || j.items[0] != "b" || j.sum["events"] != "4" || j.sum["created_at"] != "a" || j.sum["last_kind"] != "d" {
				t.Fatalf("after four appends: %+v", j)
			}
		})
	}
}

func TestCompleteJournal(t *testing.T) {
	for name, client := range clients(t) {
		t.Run(name, func(t *testing.T) {
			c := client(t)
			p := redistest.Prefix(t)
			s := redisstore.New(c, redisstore.Options{Prefix: p})
			ctx := context.Background()
			k := store.Key{Shop: "s.myshopify.com", OrderID: "1", Purpose: "place"}
			if _, err := s.Claim(ctx, k, store.ClaimRequest{Owner: "a", Fingerprint: "fp", Lease: time.Minute, TTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
			e := entry(p, "1", "created")
			done := store.Change{Owner: "a", To: store.StatePlaced, Result: []byte(`{"n":1}`), TTL: time.Hour, Journal: &e}
			// Not the owner: nothing changes, nothing is appended.
			other := done
			other.Owner = "b"
			if err := s.Complete(ctx, k, other); !errors.Is(err, store.ErrNotOwner) {
				t.Fatalf("complete by another owner: %v", err)
			}
			if j := readJournal(t, c, e); len(j.items) != 0 || j.score != -1 || j.link != "" {
				t.Fatalf("a refused completion appended: %+v", j)
			}
			// The owner's completion appends once; a re-sent one does not.
			for i := 0; i < 2; i++ {
				if err := s.Complete(ctx, k, done); err != nil {
					t.Fatalf("complete #%d: %v", i+1, err)
				}
			}
			if j := readJournal(t, c, e); len(j.items) != 1 || j.items[0] != "created" || j.sum["events"] != "1" || j.score != 1000 || j.link != "1" {
				t.Fatalf("after the completion and its re-send: %+v", j)
			}
			rec, ok, err := s.Get(ctx, k)
			if err != nil || !ok || rec.State != store.StatePlaced {
				t.Fatalf("record = %+v, %v, %v", rec, ok, err)
			}
			// A record the store lost is written back with its entry.
			k2 := store.Key{Shop: "s.myshopify.com", OrderID: "2", Purpose: "place"}
			e2 := entry(p, "2", "created")
			if err := s.Complete(ctx, k2, store.Change{Owner: "z", To: store.StatePlaced, Result: []byte(`{}`), TTL: time.Hour, Journal: &e2}); err != nil {
				t.Fatal(err)
			}
			if j := readJournal(t, c, e2); len(j.items) != 1 || j.link != "2" {
				t.Fatalf("lost record's completion: %+v", j)
			}
		})
	}
}

func TestJournalRefusesBadEntries(t *testing.T) {
	c := redistest.Client(t)
	p := redistest.Prefix(t)
	s := redisstore.New(c, redisstore.Options{Prefix: p})
	ctx := context.Background()
	k := store.Key{Shop: "s.myshopify.com", OrderID: "1", Purpose: "place"}
	bad := entry(p, "1", "x")
	bad.Set = []string{"odd"}
	other := entry(p, "9", "x")
	tests := []struct {
		name string
		j    store.ClaimJournal
	}{
		{"odd set pairs", store.ClaimJournal{Fresh: bad, Takeover: bad}},
		{"no item", store.ClaimJournal{Fresh: entry(p, "1", ""), Takeover: entry(p, "1", "")}},
		{"entries name different keys", store.ClaimJournal{Fresh: entry(p, "1", "x"), Takeover: other}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Claim(ctx, k, store.ClaimRequest{Owner: "a", Fingerprint: "fp", Lease: time.Minute, TTL: time.Hour, Journal: &tt.j})
			if err == nil {
				t.Fatal("claim with a bad journal entry succeeded")
			}
			if _, ok, _ := s.Get(ctx, k); ok {
				t.Fatal("a claim refused for its entry wrote the record")
			}
		})
	}
	if err := redisstore.AppendEntry(ctx, c, bad); err == nil {
		t.Fatal("AppendEntry took a bad entry")
	}
}
