package deploy

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flowbridge/flowbridge/store/redisstore"
)

// The Redis manifest's arguments are started on a real redis-server, and
// the settings flowbridge checks at start-up (and `doctor` reports) come
// out right: persistence on, no eviction.
func TestK8sRedisKeepsRecords(t *testing.T) {
	m := load(t)
	if m.rsvc.Spec.Selector["app.kubernetes.io/name"] != m.redis.Spec.Template.Labels["app.kubernetes.io/name"] {
		t.Fatalf("redis service selector %v does not match the pods %v", m.rsvc.Spec.Selector, m.redis.Spec.Template.Labels)
	}
	if len(m.redis.Spec.VolumeClaimTemplates) != 1 {
		t.Fatal("redis needs a persistent volume for its AOF")
	}
	c := m.redis.Spec.Template.Spec.Containers[0]
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != m.redis.Spec.VolumeClaimTemplates[0].Name {
		t.Fatalf("redis data volume not mounted: %+v", c.VolumeMounts)
	}
	args := slices.Clone(c.Args)
	// Replace what only makes sense in the pod: the data directory and the
	// password from the Secret.
	dir, err := os.MkdirTemp("", "rk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	for i := range args {
		switch {
		case args[i] == c.VolumeMounts[0].MountPath:
			args[i] = dir
		case strings.HasPrefix(args[i], "$("):
			args[i] = "test-password"
		}
	}
	sock := filepath.Join(dir, "r.sock")
	args = append(args, "--port", "0", "--unixsocket", sock)
	cmd := exec.Command("redis-server", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server (install it, as scripts/test does): %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(strings.ToLower(sc.Text()), "ready to accept connections") {
				ready <- true
				for sc.Scan() {
				}
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("redis-server refused the manifest's arguments %q", c.Args)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("redis-server not ready")
	}
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: sock, Password: "test-password"})
	t.Cleanup(func() { _ = rdb.Close() })
	if warns := redisstore.CheckConfig(context.Background(), rdb); len(warns) != 0 {
		t.Fatalf("the manifest's Redis settings: %q", warns)
	}
}
