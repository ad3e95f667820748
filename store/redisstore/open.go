package redisstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewClient opens a go-redis client for a URL:
//
//	redis://[user:pass@]host:port[/db][?options]    one server
//	rediss://...                                      one server over TLS
//	unix:///path/to/redis.sock[?db=N]                 one server on a socket
//	redis+sentinel://[user:pass@]host:port?master_name=NAME&addr=host2:port...   Sentinel
//	rediss+sentinel://...                             Sentinel, TLS
//	redis+cluster://[user:pass@]host:port?addr=host2:port...                     Cluster
//	rediss+cluster://...                              Cluster, TLS
//
// Query options are go-redis's (dial_timeout, read_timeout, max_retries,
// pool_size, ...). The client always honours context deadlines
// (ContextTimeoutEnabled), so a request's deadline bounds its Redis calls,
// and socket timeouts not given in the URL are set short (timeouts below):
// a hung server costs a call seconds, not the request.
//
// Redis's own defaults (go-redis: 5 s dial, 3 s read and write, a pool
// wait of read + 1 s) are made shorter because every flowbridge operation
// is a single small command or script.
const (
	dialTimeout = 2 * time.Second
	rwTimeout   = 2 * time.Second
	poolTimeout = 2 * time.Second
)

// Connection buffers: every flowbridge command and reply is small (a
// script call, a record of a few hundred bytes), and go-redis's defaults
// (32 KiB each way per connection, 128 KiB each way on the pipeline
// pool's) were 2.3 MB of the live heap in the flash-sale profile
// (docs/bench/memory.md). A larger reply still works: the reader reads
// past its buffer; it only takes more reads.
const (
	connBuffer     = 4 << 10
	pipelineBuffer = 8 << 10
)

// smallBuffers sets the connection buffer sizes (see connBuffer).
func smallBuffers(read, write, pipeRead, pipeWrite *int) {
	*read, *write, *pipeRead, *pipeWrite = connBuffer, connBuffer, pipelineBuffer, pipelineBuffer
}

// shortTimeouts sets the socket timeouts the URL did not set.
func shortTimeouts(q url.Values, dial, read, write, pool *time.Duration) {
	if q.Get("dial_timeout") == "" {
		*dial = dialTimeout
	}
	if q.Get("read_timeout") == "" {
		*read = rwTimeout
	}
	if q.Get("write_timeout") == "" {
		*write = rwTimeout
	}
	if q.Get("pool_timeout") == "" {
		*pool = poolTimeout
	}
}
func NewClient(rawURL string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", redact(err))
	}
	base, mode, _ := strings.Cut(u.Scheme, "+")
	switch base {
	case "redis", "rediss", "unix":
	default:
		return nil, fmt.Errorf("redis url: unsupported scheme %q (want redis, rediss, unix, redis+sentinel, redis+cluster)", u.Scheme)
	}
	plain := *u
	plain.Scheme = base
	switch mode {
	case "":
		o, err := redis.ParseURL(plain.String())
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", redact(err))
		}
		o.ContextTimeoutEnabled = true
		shortTimeouts(u.Query(), &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
		smallBuffers(&o.ReadBufferSize, &o.WriteBufferSize, &o.PipelineReadBufferSize, &o.PipelineWriteBufferSize)
		return redis.NewClient(o), nil
	case "sentinel":
		if base == "unix" {
			return nil, fmt.Errorf("redis url: sentinel needs a host, not a socket")
		}
		o, err := redis.ParseFailoverURL(plain.String())
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", redact(err))
		}
		if o.MasterName == "" {
			return nil, fmt.Errorf("redis url: sentinel needs ?master_name=")
		}
		if base == "rediss" && o.TLSConfig == nil {
			o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		o.ContextTimeoutEnabled = true
		shortTimeouts(u.Query(), &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
		smallBuffers(&o.ReadBufferSize, &o.WriteBufferSize, &o.PipelineReadBufferSize, &o.PipelineWriteBufferSize)
		return redis.NewFailoverClient(o), nil
	case "cluster":
		if base == "unix" {
			return nil, fmt.Errorf("redis url: cluster needs a host, not a socket")
		}
		o, err := redis.ParseClusterURL(plain.String())
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", redact(err))
		}
		o.ContextTimeoutEnabled = true
		shortTimeouts(u.Query(), &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
		smallBuffers(&o.ReadBufferSize, &o.WriteBufferSize, &o.PipelineReadBufferSize, &o.PipelineWriteBufferSize)
		return redis.NewClusterClient(o), nil
	default:
		return nil, fmt.Errorf("redis url: unsupported scheme %q", u.Scheme)
	}
}

// redact drops an error's text when it may quote the URL (and with it a
// password): *url.Error carries the URL.
func redact(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
