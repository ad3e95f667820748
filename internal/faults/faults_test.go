//go:build faults

package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowbridge/flowbridge/internal/redistest"
)

// requestTimeout is FLOWBRIDGE_REQUEST_TIMEOUT of the replicas; lease is
// FLOWBRIDGE_LEASE (both shorter than production so a run stays short;
// the relations between them are production's).
const (
	requestTimeout = 10 * time.Second
	lease          = 12 * time.Second
)

// scenario is one fault run.
type scenario struct {
	name       string
	orders     int
	deliveries int // identical deliveries of each order (duplicate triggers, Flow re-sends)
	replicas   int
	aof        bool // Redis with persistence
	shopify    bool // SHOPIFY_ADMIN_TOKEN configured
	rate       int  // supplier requests per second (flowbridge's shared limit; the stand-in allows a little more)
	// fault runs during the storm until ctx ends.
	fault func(ctx context.Context, e *env)
	// trueReviewsOK: the fault makes the supplier create an order without
	// answering, so BTS orders held for review are expected (they exist).
	trueReviewsOK bool
	// failClosed: Redis loses its data and neither the supplier nor
	// Shopify can be asked, so orders not yet placed are held for review
	// on purpose (docs/exactly-once.md); they are reported, not failed.
	failClosed bool
	// sentWindow: false reviews tolerated because a replica was killed
	// after its create was marked sent but before the bytes reached the
	// supplier. Nothing can tell that order from one the supplier got, so
	// on BTS review is the only safe answer; the window is one HTTP write.
	sentWindow int
}

// env is one scenario's processes.
type env struct {
	t        *testing.T
	redis    *redistest.Server
	supplier *supplierProc
	shopify  *shopifyStub
	replicas []*replica
}

// result is one row of the table.
type result struct {
	name                                 string
	orders, creates, duplicates, lost    int
	falseReviews, trueReviews, unsettled int
	calls, answered5xx, answered429, cut int
	longest                              time.Duration
	took                                 time.Duration
}

func (r result) row() string {
	return fmt.Sprintf("| %s | %d | %d | %d | %d | %d | %d | %s | %d calls: %d×5xx, %d×429, %d without an answer |",
		r.name, r.orders, r.creates, r.duplicates, r.lost, r.falseReviews, r.trueReviews,
		r.longest.Round(10*time.Millisecond), r.calls, r.answered5xx, r.answered429, r.cut)
}

const header = "| scenario | orders | supplier creates | duplicates | lost | false reviews | reviews (order exists) | longest call | calls |\n|---|---|---|---|---|---|---|---|---|"

func full() bool { return os.Getenv("FAULTS") == "full" }

func scenarios() []scenario {
	n := 30
	if full() {
		n = 100
	}
	every := func(d time.Duration, f func(e *env)) func(ctx context.Context, e *env) {
		return func(ctx context.Context, e *env) {
			tick := time.NewTicker(d)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					f(e)
				}
			}
		}
	}
	once := func(after time.Duration, f func(e *env)) func(ctx context.Context, e *env) {
		return func(ctx context.Context, e *env) {
			select {
			case <-ctx.Done():
			case <-time.After(after):
				f(e)
			}
		}
	}
	// A replica killed after its create left loses the answer; BTS cannot
	// be asked, so such an order is rightly held for review (it exists).
	kill9 := scenario{name: "kill -9 replicas in a storm", orders: 2 * n, deliveries: 3, replicas: 3, aof: true, rate: 10, trueReviewsOK: true, sentWindow: 2,
		fault: every(1500*time.Millisecond, func(e *env) {
			r := e.replicas[rand.IntN(len(e.replicas))]
			r.kill()
			r.start()
		})}
	stop := scenario{name: "Redis SIGSTOP 15 s (AOF)", orders: n, deliveries: 3, replicas: 2, aof: true, rate: 10,
		fault: once(time.Second, func(e *env) {
			e.redis.Pause(e.t)
			time.Sleep(15 * time.Second) // longer than the request timeout
			e.redis.Resume(e.t)
		})}
	wipe := scenario{name: "FLUSHALL mid-storm (Shopify token)", orders: n, deliveries: 3, replicas: 2, aof: true, shopify: true, rate: 10,
		fault: once(1500*time.Millisecond, func(e *env) {
			if err := redistest.ClientFor(e.t, e.redis.URL()).FlushAll(context.Background()).Err(); err != nil {
				e.t.Error(err)
			}
		})}
	if !full() {
		return []scenario{kill9, stop, wipe}
	}
	killRedis := func(e *env) {
		e.redis.Stop() // SIGKILL
		time.Sleep(2 * time.Second)
		e.redis.Start(e.t)
	}
	return []scenario{
		kill9, stop,
		{name: "Redis SIGSTOP 15 s (no AOF)", orders: n, deliveries: 3, replicas: 2, rate: 10, fault: stop.fault},
		{name: "Redis SIGKILL + restart (AOF)", orders: n, deliveries: 3, replicas: 2, aof: true, rate: 10, fault: once(time.Second, killRedis)},
		{name: "Redis SIGKILL + restart empty (no AOF, Shopify token)", orders: n, deliveries: 3, replicas: 2, shopify: true, rate: 10, fault: once(time.Second, killRedis)},
		{name: "Redis SIGKILL + restart empty (no AOF, no token: fail closed)", orders: n, deliveries: 3, replicas: 2, rate: 10, failClosed: true, fault: once(time.Second, killRedis)},
		wipe,
		{name: "slow supplier (1.5 s), every 5th create dropped", orders: n, deliveries: 3, replicas: 2, aof: true, rate: 10, trueReviewsOK: true,
			fault: func(ctx context.Context, e *env) { e.supplier.faults(e.t, 1500*time.Millisecond, 5) }},
	}
}

// TestFaults runs the scenarios and prints their table.
func TestFaults(t *testing.T) {
	binaries(t)
	var rows []string
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			r := run(t, sc)
			rows = append(rows, r.row())
			falseReviews := r.falseReviews
			if sc.failClosed {
				falseReviews = 0
			}
			if falseReviews <= sc.sentWindow {
				falseReviews = 0
			}
			if r.duplicates != 0 || r.lost != 0 || falseReviews != 0 || r.unsettled != 0 {
				t.Errorf("%s: %d duplicates, %d lost, %d false reviews, %d unsettled; want 0", sc.name, r.duplicates, r.lost, r.falseReviews, r.unsettled)
			}
			if !sc.trueReviewsOK && r.trueReviews != 0 {
				t.Errorf("%s: %d orders held for review; want 0", sc.name, r.trueReviews)
			}
			if r.longest > requestTimeout+time.Second {
				t.Errorf("%s: longest call %v; every call must be answered within the request timeout (%v)", sc.name, r.longest, requestTimeout)
			}
		})
	}
	if full() {
		t.Run("amplification body", func(t *testing.T) { rows = append(rows, amplification(t)) })
	}
	fmt.Printf("\nFLOWBRIDGE_REQUEST_TIMEOUT=%s FLOWBRIDGE_LEASE=%s\n%s\n%s\n", requestTimeout, lease, header, strings.Join(rows, "\n"))
}

func run(t *testing.T, sc scenario) result {
	start := time.Now()
	e := &env{t: t}
	e.redis = redistest.StartWith(t, redistest.Options{AOF: sc.aof})
	e.supplier = startSupplier(t, sc.rate+2)
	flowEnv := []string{
		"FLOWBRIDGE_API_KEYS=" + flowKey, "FLOWBRIDGE_OPERATOR_KEYS=" + opKey,
		"FLOWBRIDGE_SUPPLIER=bts", "FLOWBRIDGE_BTS_TOKEN=" + btsToken, "FLOWBRIDGE_BTS_BASE_URL=" + e.supplier.url + "/v1/api",
		"REDIS_URL=" + e.redis.URL(), "FLOWBRIDGE_SHOP=" + shop,
		"FLOWBRIDGE_REQUEST_TIMEOUT=" + requestTimeout.String(), "FLOWBRIDGE_LEASE=" + lease.String(),
		"FLOWBRIDGE_SUPPLIER_RATE_LIMIT=" + strconv.Itoa(sc.rate), "FLOWBRIDGE_STORE_TIMEOUT=2s",
		"FLOWBRIDGE_LOG_LEVEL=warn",
	}
	if sc.shopify {
		e.shopify = startShopify(t)
		flowEnv = append(flowEnv, "SHOPIFY_SHOP="+shop, "SHOPIFY_ADMIN_TOKEN="+shopTok, "SHOPIFY_ADMIN_BASE_URL="+e.shopify.srv.URL)
	}
	logDir := t.TempDir()
	for i := range sc.replicas {
		e.replicas = append(e.replicas, startReplica(t, flowEnv, logDir, i))
	}

	f := &flow{e: e, client: &http.Client{Timeout: 30 * time.Second}, finals: map[int]final{}}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	faultCtx, stopFault := context.WithCancel(ctx)
	faultDone := make(chan struct{})
	go func() { defer close(faultDone); sc.fault(faultCtx, e) }()

	base := 7_000_000 + rand.IntN(1_000_000)*100
	var wg sync.WaitGroup
	spread := 4 * time.Second / time.Duration(sc.orders)
	for i := range sc.orders {
		id := base + i
		for range sc.deliveries {
			wg.Go(func() {
				select {
				case <-time.After(time.Duration(i) * spread): // orders arrive over a few seconds
				case <-ctx.Done():
					return
				}
				f.deliver(ctx, id)
			})
		}
	}
	wg.Wait()
	stopFault()
	<-faultDone

	creates := e.supplier.creates(t)
	r := result{name: sc.name, orders: sc.orders, calls: f.calls, answered5xx: f.n5xx, answered429: f.n429, cut: f.cut, longest: f.longest}
	for i := range sc.orders {
		id := base + i
		numbers := creates[clientName(id)]
		r.creates += len(numbers)
		if len(numbers) > 1 {
			r.duplicates += len(numbers) - 1
		}
		fin, ok := f.finals[id]
		switch {
		case !ok:
			r.unsettled++
		case fin.review && len(numbers) == 0:
			r.falseReviews++
		case fin.review:
			r.trueReviews++
		case fin.number == "" || !contains(numbers, fin.number):
			r.lost++ // Flow was told a number the supplier does not have, or got a final error
			t.Logf("order %d: final %+v, supplier has %v", id, fin, numbers)
		}
	}
	r.took = time.Since(start)
	t.Log(header + "\n" + r.row())
	return r
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// final is how an order ended for Flow.
type final struct {
	number string
	review bool
	status int
	code   string
}

// flow re-sends one delivery of an order as Flow does (each delivery is a
// workflow run of its own and goes on until it is answered): until a 200 or 202
// (or another 4xx, which Flow treats as final), honouring Retry-After
// (capped so a run stays short). When a 200 arrives, the next workflow
// step writes the number to the order's metafield.
type flow struct {
	e      *env
	client *http.Client

	mu                sync.Mutex
	finals            map[int]final
	calls, n5xx, n429 int
	cut               int
	longest           time.Duration
}

func clientName(id int) string { return "Fault O" + strconv.Itoa(id) }

func orderBody(id int) []byte {
	s := strconv.Itoa(id)
	b, _ := json.Marshal(map[string]any{
		"order_id": "gid://shopify/Order/" + s, "order_name": "#" + s, "shop": shop,
		"email": "buyer@example.com", "phone": "+34600000000",
		"shipping_address": map[string]any{"first_name": "Fault", "last_name": "O" + s, "company": "",
			"address1": "Calle Fallo " + s, "address2": "", "city": "Valencia", "zip": "46005",
			"province_code": "", "country_code": "ES", "phone": "+34600000000"},
		"line_items":            []map[string]any{{"barcode": "8400000000017", "sku": "FAULT-1", "quantity": 1, "price": "19.99"}},
		"currency":              "EUR",
		"shipping_cost_id":      "148",
		"payment_gateway_names": []string{"shopify_payments"},
		"supplier_order_id":     "",
	})
	return b
}

func (f *flow) deliver(ctx context.Context, id int) {
	body := orderBody(id)
	for ctx.Err() == nil {
		rep := f.e.replicas[rand.IntN(len(f.e.replicas))]
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, rep.url()+"/orders", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+flowKey)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := f.client.Do(req)
		took := time.Since(start)
		if err != nil {
			// Connection refused or reset: a killed replica. Flow would wait
			// for its 30 s timeout; re-send after a moment instead.
			f.mu.Lock()
			f.calls++
			f.cut++
			f.mu.Unlock()
			wait(ctx, 200*time.Millisecond)
			continue
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		var ans struct {
			OK              bool   `json:"ok"`
			SupplierOrderID string `json:"supplier_order_id"`
			NeedsReview     bool   `json:"needs_review"`
			Code            string `json:"code"`
		}
		_ = json.Unmarshal(raw, &ans)
		f.mu.Lock()
		f.calls++
		f.longest = max(f.longest, took)
		switch {
		case resp.StatusCode >= 500:
			f.n5xx++
		case resp.StatusCode == http.StatusTooManyRequests:
			f.n429++
		}
		f.mu.Unlock()
		switch {
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted:
			f.settle(id, final{number: ans.SupplierOrderID, review: ans.NeedsReview, status: resp.StatusCode})
			if resp.StatusCode == http.StatusOK && f.e.shopify != nil {
				f.e.shopify.write(strconv.Itoa(id), ans.SupplierOrderID)
			}
			return
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			wait(ctx, min(time.Duration(max(ra, 1))*time.Second, time.Second))
		default:
			f.settle(id, final{status: resp.StatusCode, code: ans.Code})
			return
		}
	}
}

func (f *flow) settle(id int, fin final) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if prev, ok := f.finals[id]; ok {
		// Two deliveries settled at once: both answers must agree.
		if prev.number != fin.number || prev.review != fin.review {
			f.e.t.Errorf("order %d answered %+v and %+v", id, prev, fin)
		}
		return
	}
	f.finals[id] = fin
}

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// amplification sends the body that made a 10 MB error answer: 262 KB of
// non-object line items. The answer must stay small, and twenty at once
// must not grow the replica's memory by hundreds of MB.
func amplification(t *testing.T) string {
	e := &env{t: t}
	e.supplier = startSupplier(t, 100)
	r := startReplica(t, []string{"FLOWBRIDGE_API_KEYS=" + flowKey, "FLOWBRIDGE_OPERATOR_KEYS=" + opKey,
		"FLOWBRIDGE_SUPPLIER=bts", "FLOWBRIDGE_BTS_TOKEN=" + btsToken, "FLOWBRIDGE_BTS_BASE_URL=" + e.supplier.url + "/v1/api",
		"FLOWBRIDGE_LOG_LEVEL=warn"}, t.TempDir(), 0)
	var b strings.Builder
	b.WriteString(`{"order_id":"1","shipping_cost_id":"148","shipping_address":{"country_code":"ES"},"line_items":[`)
	for i := range 130_000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('1')
	}
	b.WriteString(`]}`)
	body := b.String()
	post := func() (int, int, error) {
		req, _ := http.NewRequest(http.MethodPost, r.url()+"/orders", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+flowKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, int(n), err
	}
	before := rssKiB(r.pid())
	status, size, err := post()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var peak int
	var mu sync.Mutex
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			if _, _, err := post(); err != nil {
				errs <- err
			}
			mu.Lock()
			peak = max(peak, rssKiB(r.pid()))
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	after := rssKiB(r.pid())
	row := fmt.Sprintf("| amplification body (%d KB, 130,000 non-object line items) | answer %d, %d bytes | 20 at once: RSS %d → %d MB (peak seen %d MB) | | | | | | |",
		len(body)/1000, status, size, before/1024, after/1024, peak/1024)
	t.Log(row)
	if size > 64<<10 {
		t.Errorf("the error answer is %d bytes; it must stay small (the first errors and a count)", size)
	}
	if status/100 != 4 {
		t.Errorf("status %d, want a 4xx", status)
	}
	if errors.Is(err, context.Canceled) {
		t.Error(err)
	}
	return row
}
