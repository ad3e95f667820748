package stock

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease is a named, expiring lock shared by every replica. The holder's
// token (a run id) is its value, so a replica that lost the race can say
// which run is going on.
type Lease interface {
	// Acquire takes name for ttl. ok is false when someone else holds it;
	// holder is then that holder's token.
	Acquire(ctx context.Context, name, token string, ttl time.Duration) (ok bool, holder string, err error)
	// Renew extends a lease still held with token; false when it was lost.
	Renew(ctx context.Context, name, token string, ttl time.Duration) (bool, error)
	// Release drops the lease if token still holds it.
	Release(ctx context.Context, name, token string) error
	// Holder is the token holding name, "" when free.
	Holder(ctx context.Context, name string) (string, error)
}

// RedisLease keeps leases as Redis keys with a TTL (SET NX PX), renewed
// and released only by their holder (compare in a Lua script).
type RedisLease struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisLease stores leases under prefix (e.g. "flowbridge:").
func NewRedisLease(rdb redis.UniversalClient, prefix string) *RedisLease {
	return &RedisLease{rdb: rdb, prefix: prefix + "{stock}:lease:"}
}

var (
	renewScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)
	releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`)
)

func (l *RedisLease) Acquire(ctx context.Context, name, token string, ttl time.Duration) (bool, string, error) {
	key := l.prefix + name
	ok, err := l.rdb.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return false, "", storeErr(err, "taking the stock sync lease")
	}
	if ok {
		return true, token, nil
	}
	holder, err := l.rdb.Get(ctx, key).Result()
	if err == redis.Nil {
		return false, "", nil // expired between the two calls: someone else's turn
	}
	if err != nil {
		return false, "", storeErr(err, "reading the stock sync lease")
	}
	return false, holder, nil
}

func (l *RedisLease) Renew(ctx context.Context, name, token string, ttl time.Duration) (bool, error) {
	n, err := renewScript.Run(ctx, l.rdb, []string{l.prefix + name}, token, ttl.Milliseconds()).Int()
	if err != nil {
		return false, storeErr(err, "renewing the stock sync lease")
	}
	return n == 1, nil
}

func (l *RedisLease) Release(ctx context.Context, name, token string) error {
	if err := releaseScript.Run(ctx, l.rdb, []string{l.prefix + name}, token).Err(); err != nil {
		return storeErr(err, "releasing the stock sync lease")
	}
	return nil
}

func (l *RedisLease) Holder(ctx context.Context, name string) (string, error) {
	v, err := l.rdb.Get(ctx, l.prefix+name).Result()
	if err == redis.Nil {
		return "", nil
	}
	if err != nil {
		return "", storeErr(err, "reading the stock sync lease")
	}
	return v, nil
}

// MemoryLease is the in-process Lease (one instance).
type MemoryLease struct {
	Now func() time.Time
	mu  sync.Mutex
	m   map[string]memLease
}

type memLease struct {
	token string
	until time.Time
}

// NewMemoryLease returns an empty MemoryLease on the clock now (time.Now
// when nil).
func NewMemoryLease(now func() time.Time) *MemoryLease {
	if now == nil {
		now = time.Now
	}
	return &MemoryLease{Now: now, m: map[string]memLease{}}
}

func (l *MemoryLease) Acquire(_ context.Context, name, token string, ttl time.Duration) (bool, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	if cur, ok := l.m[name]; ok && now.Before(cur.until) {
		return false, cur.token, nil
	}
	l.m[name] = memLease{token: token, until: now.Add(ttl)}
	return true, token, nil
}

func (l *MemoryLease) Renew(_ context.Context, name, token string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.m[name]
	if !ok || cur.token != token || !l.Now().Before(cur.until) {
		return false, nil
	}
	l.m[name] = memLease{token: token, until: l.Now().Add(ttl)}
	return true, nil
}

func (l *MemoryLease) Release(_ context.Context, name, token string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.m[name]; ok && cur.token == token {
		delete(l.m, name)
	}
	return nil
}

func (l *MemoryLease) Holder(_ context.Context, name string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.m[name]; ok && l.Now().Before(cur.until) {
		return cur.token, nil
	}
	return "", nil
}
