package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowbridge/flowbridge/server"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// strictDecode reads a one-document YAML manifest into out, failing on any
// field the Kubernetes type does not have (a typo such as "readinesProbe"
// would otherwise be dropped silently by the API server's lenient decode).
func strictDecode(t testing.TB, path string, out any, apiVersion, kind string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if head.APIVersion != apiVersion || head.Kind != kind {
		t.Fatalf("%s: %s/%s, want %s/%s", path, head.APIVersion, head.Kind, apiVersion, kind)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type manifests struct {
	dep    appsv1.Deployment
	svc    corev1.Service
	pdb    policyv1.PodDisruptionBudget
	hpa    autoscalingv2.HorizontalPodAutoscaler
	np     networkingv1.NetworkPolicy
	secret corev1.Secret
	redis  appsv1.StatefulSet
	rsvc   corev1.Service
}

func load(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{}
	dir := "k8s"
	strictDecode(t, filepath.Join(dir, "deployment.yaml"), &m.dep, "apps/v1", "Deployment")
	strictDecode(t, filepath.Join(dir, "service.yaml"), &m.svc, "v1", "Service")
	strictDecode(t, filepath.Join(dir, "pdb.yaml"), &m.pdb, "policy/v1", "PodDisruptionBudget")
	strictDecode(t, filepath.Join(dir, "hpa.yaml"), &m.hpa, "autoscaling/v2", "HorizontalPodAutoscaler")
	strictDecode(t, filepath.Join(dir, "networkpolicy.yaml"), &m.np, "networking.k8s.io/v1", "NetworkPolicy")
	strictDecode(t, filepath.Join(dir, "secret.example.yaml"), &m.secret, "v1", "Secret")
	strictDecode(t, filepath.Join(dir, "redis.yaml"), &m.redis, "apps/v1", "StatefulSet")
	strictDecode(t, filepath.Join(dir, "redis-service.yaml"), &m.rsvc, "v1", "Service")
	return m
}

// Every manifest in deploy/k8s must be one this test decodes.
func TestK8sEveryFileChecked(t *testing.T) {
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	known := []string{"deployment.yaml", "service.yaml", "pdb.yaml", "hpa.yaml", "networkpolicy.yaml", "secret.example.yaml", "redis.yaml", "redis-service.yaml"}
	for _, f := range files {
		if !slices.Contains(known, filepath.Base(f)) {
			t.Errorf("%s is not validated by this test; add it to load()", f)
		}
	}
}

func TestK8sStrictDecodeRejectsTypos(t *testing.T) {
	// The checker must be able to fail: a misspelt field is an error.
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	raw, _ := os.ReadFile("k8s/deployment.yaml")
	_ = os.WriteFile(bad, bytes.Replace(raw, []byte("readinessProbe:"), []byte("readinesProbe:"), 1), 0o600)
	ft := &fakeT{}
	func() {
		defer func() { _ = recover() }()
		var d appsv1.Deployment
		strictDecode(ft, bad, &d, "apps/v1", "Deployment")
	}()
	if !ft.failed {
		t.Fatal("strict decode accepted an unknown field")
	}
}

// fakeT records Fatalf instead of stopping the outer test.
type fakeT struct {
	testing.T
	failed bool
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}
func (f *fakeT) Fatal(...any) {
	f.failed = true
	panic("fatal")
}

func TestK8sDeployment(t *testing.T) {
	m := load(t)
	d := m.dep
	pod := d.Spec.Template.Spec
	labels := d.Spec.Template.Labels
	if !selects(d.Spec.Selector.MatchLabels, labels) {
		t.Errorf("deployment selector %v does not select its pods %v", d.Spec.Selector.MatchLabels, labels)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("want 1 container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":") {
		t.Errorf("image %q must be pinned to a tag or digest", c.Image)
	}
	var httpPort *corev1.ContainerPort
	for i := range c.Ports {
		if c.Ports[i].Name == "http" {
			httpPort = &c.Ports[i]
		}
	}
	if httpPort == nil || httpPort.ContainerPort != 8080 {
		t.Fatalf("container must expose port 8080 named http: %+v", c.Ports)
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe missing or not httpGet", name)
			return
		}
		if p.HTTPGet.Path != path || p.HTTPGet.Port != intstr.FromString("http") {
			t.Errorf("%s probe = %s on %s, want %s on http", name, p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("startup", c.StartupProbe, "/healthz")

	// Non-root, read-only root filesystem, no privilege escalation.
	sc := c.SecurityContext
	psc := pod.SecurityContext
	if sc == nil || psc == nil {
		t.Fatal("pod and container securityContext required")
	}
	if !isTrue(psc.RunAsNonRoot) || !isTrue(sc.RunAsNonRoot) {
		t.Error("runAsNonRoot must be true on pod and container")
	}
	if psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("runAsUser must be a non-zero uid")
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) {
		t.Error("readOnlyRootFilesystem must be true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation must be false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged must not be true")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, corev1.Capability("ALL")) {
		t.Error("capabilities must drop ALL")
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("seccompProfile RuntimeDefault required")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken must be false: flowbridge never calls the Kubernetes API")
	}

	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("resources.requests.%s missing", r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("resources.limits.memory missing")
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g <= 30 {
		t.Error("terminationGracePeriodSeconds must exceed Flow's 30 s so in-flight placements finish")
	}

	// Every FLOWBRIDGE_* / REDIS_URL variable is a real setting (the
	// table in server/config.go); literal values parse; secret settings
	// come from the Secret by reference, with keys the example documents.
	settings := map[string]server.Setting{}
	for _, st := range server.Settings() {
		settings[st.Env] = st
	}
	var cfg server.Config
	seen := map[string]bool{}
	for _, e := range c.Env {
		if !strings.HasPrefix(e.Name, "FLOWBRIDGE_") && e.Name != "REDIS_URL" {
			continue
		}
		st, ok := settings[e.Name]
		if !ok {
			t.Errorf("env %s is not a flowbridge setting", e.Name)
			continue
		}
		seen[e.Name] = true
		if !st.Secret {
			if e.ValueFrom != nil {
				continue
			}
			if err := st.Set(&cfg, e.Value); err != nil {
				t.Errorf("env %s=%q does not parse: %v", e.Name, e.Value, err)
			}
			continue
		}
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s is secret: it must come from a secretKeyRef, not a literal", e.Name)
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if ref.Name != m.secret.Name {
			t.Errorf("%s refers to secret %q, want %q", e.Name, ref.Name, m.secret.Name)
		}
		if _, ok := m.secret.StringData[ref.Key]; !ok {
			t.Errorf("%s refers to key %q missing from secret.example.yaml", e.Name, ref.Key)
		}
	}
	for _, n := range []string{"FLOWBRIDGE_API_KEYS", "FLOWBRIDGE_OPERATOR_KEYS", "FLOWBRIDGE_METRICS_KEYS",
		"FLOWBRIDGE_BTS_TOKEN", "FLOWBRIDGE_BIGBUY_API_KEY", "REDIS_URL"} {
		if !seen[n] {
			t.Errorf("env %s not set", n)
		}
		if !settings[n].Secret {
			t.Errorf("%s is expected to be a secret setting", n)
		}
	}
	for k, v := range m.secret.StringData {
		if !strings.Contains(v, "CHANGE-ME") {
			t.Errorf("secret.example.yaml %s must hold a CHANGE-ME placeholder", k)
		}
	}
}

func TestK8sServicePDBHPANetworkPolicy(t *testing.T) {
	m := load(t)
	podLabels := m.dep.Spec.Template.Labels
	if !selects(m.svc.Spec.Selector, podLabels) {
		t.Errorf("service selector %v does not select the pods", m.svc.Spec.Selector)
	}
	if len(m.svc.Spec.Ports) != 1 || m.svc.Spec.Ports[0].TargetPort != intstr.FromString("http") {
		t.Errorf("service must target the named port http: %+v", m.svc.Spec.Ports)
	}
	if m.pdb.Spec.Selector == nil || !selects(m.pdb.Spec.Selector.MatchLabels, podLabels) {
		t.Error("PDB does not select the pods")
	}
	if m.pdb.Spec.MinAvailable == nil && m.pdb.Spec.MaxUnavailable == nil {
		t.Error("PDB needs minAvailable or maxUnavailable")
	}
	ref := m.hpa.Spec.ScaleTargetRef
	if ref.Kind != "Deployment" || ref.Name != m.dep.Name || ref.APIVersion != "apps/v1" {
		t.Errorf("HPA targets %+v, want the Deployment %s", ref, m.dep.Name)
	}
	if m.hpa.Spec.MinReplicas == nil || *m.hpa.Spec.MinReplicas < 2 {
		t.Error("HPA minReplicas must be at least 2 (the PDB keeps one through drains)")
	}
	if m.pdb.Spec.MinAvailable != nil && m.hpa.Spec.MinReplicas != nil &&
		int32(m.pdb.Spec.MinAvailable.IntValue()) >= *m.hpa.Spec.MinReplicas {
		t.Error("PDB minAvailable must be below HPA minReplicas, or no node could ever be drained")
	}

	np := m.np
	if !selects(np.Spec.PodSelector.MatchLabels, podLabels) {
		t.Error("network policy does not select the pods")
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		t.Error("network policy must restrict both ingress and egress")
	}
	for _, r := range np.Spec.Ingress {
		if len(r.Ports) == 0 {
			t.Error("an ingress rule allows every port")
		}
		for _, p := range r.Ports {
			if p.Port == nil || p.Port.IntValue() != 8080 {
				t.Errorf("ingress allows port %v; only 8080 is served", p.Port)
			}
		}
	}
	egress := map[string]bool{}
	for _, r := range np.Spec.Egress {
		for _, p := range r.Ports {
			proto := "TCP"
			if p.Protocol != nil {
				proto = string(*p.Protocol)
			}
			egress[p.Port.String()+"/"+proto] = true
		}
	}
	for _, want := range []string{"53/UDP", "53/TCP", "6379/TCP", "26379/TCP", "443/TCP"} {
		if !egress[want] {
			t.Errorf("egress lacks %s", want)
		}
	}
}

func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func isTrue(b *bool) bool { return b != nil && *b }
