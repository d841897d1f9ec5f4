package sim

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// ELB is one region's Application Load Balancers, as far as a rehearsal
// observes them: a load balancer exists (and answers on its DNS name) from
// the moment its creation completes, its listeners accept a protocol on a
// port and forward to a target group, and a Lambda target group invokes its
// function with the ALB event. The embedding program serves HTTP through
// Route (pkg/local's transport); no client code calls the ELB API, so the
// service has no SDK surface.
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
type ELB struct {
	r *Region

	mu        sync.Mutex
	lbs       map[string]*elbLoadBalancer // by ARN
	groups    map[string]*elbTargetGroup  // by ARN
	listeners map[string]*elbListener     // by ARN
	known     map[string]bool             // every load balancer ever created
}

type elbLoadBalancer struct {
	arn, name, dns, scheme string
	created                time.Time
	attrs                  map[string]string
}

type elbTargetGroup struct {
	arn, name, targetType string
	targets               []string // Lambda function ARNs
	healthPath            string
}

type elbListener struct {
	arn, lb, protocol string
	port              int
	certificates      []string
	targetGroup       string // the default forward action's target group
}

// ELB returns the region's load balancers.
func (r *Region) ELB() *ELB {
	return r.service("ElasticLoadBalancingV2", func() any {
		return &ELB{r: r, lbs: map[string]*elbLoadBalancer{}, groups: map[string]*elbTargetGroup{}, listeners: map[string]*elbListener{}, known: map[string]bool{}}
	}).(*ELB)
}

// ELBRoute is where a request to a load balancer goes.
type ELBRoute struct {
	// LoadBalancerARN and ListenerARN are the load balancer and listener
	// that accepted the request.
	LoadBalancerARN, ListenerARN string
	// Protocol is the listener's protocol (HTTP or HTTPS); Certificates
	// its certificate ARNs.
	Protocol     string
	Certificates []string
	// FunctionARN is the Lambda function of the target group.
	FunctionARN string
}

// Route finds the listener of the load balancer whose DNS name is host
// that listens on port, and the Lambda function it forwards to. It fails,
// as a connection fails, when there is no such load balancer or listener.
func (e *ELB) Route(host string, port int) (ELBRoute, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var lb *elbLoadBalancer
	for _, l := range e.lbs {
		if l.dns == host {
			lb = l
		}
	}
	if lb == nil {
		return ELBRoute{}, fmt.Errorf("no load balancer answers at %s in %s", host, e.r.Name)
	}
	for _, l := range e.listeners {
		if l.lb != lb.arn || l.port != port {
			continue
		}
		g := e.groups[l.targetGroup]
		if g == nil || len(g.targets) == 0 {
			return ELBRoute{}, fmt.Errorf("listener %s has no registered target", l.arn)
		}
		return ELBRoute{LoadBalancerARN: lb.arn, ListenerARN: l.arn, Protocol: l.protocol, Certificates: append([]string(nil), l.certificates...), FunctionARN: g.targets[0]}, nil
	}
	return ELBRoute{}, fmt.Errorf("connection refused: %s has no listener on port %d", host, port)
}

// LoadBalancers returns the ARNs of the region's load balancers, sorted.
func (e *ELB) LoadBalancers() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.lbs))
	for arn := range e.lbs {
		out = append(out, arn)
	}
	sort.Strings(out)
	return out
}

// HasLoadBalancer reports whether the load balancer exists.
func (e *ELB) HasLoadBalancer(arn string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lbs[arn] != nil
}

// answers reports whether arn is a load balancer this region created
// (known) and whether it exists now with a listener, so a health check
// through it gets an answer (listening).
func (e *ELB) answers(arn string) (known, listening bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.known[arn] {
		return false, false
	}
	if e.lbs[arn] == nil {
		return true, false
	}
	for _, l := range e.listeners {
		if l.lb == arn {
			return true, true
		}
	}
	return true, false
}

// DNSName returns a load balancer's DNS name.
func (e *ELB) DNSName(arn string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	lb := e.lbs[arn]
	if lb == nil {
		return "", false
	}
	return lb.dns, true
}

func (e *ELB) createLoadBalancer(name, scheme string, attrs map[string]string) *elbLoadBalancer {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := fnvString(e.r.Name + "/" + name)
	lb := &elbLoadBalancer{name: name, scheme: scheme, attrs: attrs, created: e.r.world.Clock.Now(),
		arn: fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/app/%s/%016x", e.r.Name, e.r.world.Account, name, h),
		dns: fmt.Sprintf("%s-%d.%s.elb.amazonaws.com", name, h%1_000_000_000, e.r.Name)}
	e.lbs[lb.arn] = lb
	e.known[lb.arn] = true
	return lb
}

func (e *ELB) deleteLoadBalancer(arn string) {
	e.mu.Lock()
	delete(e.lbs, arn)
	var gone []*elbListener
	for id, l := range e.listeners {
		if l.lb == arn {
			delete(e.listeners, id)
			gone = append(gone, l)
		}
	}
	e.mu.Unlock()
	// Its listeners' certificates are no longer in use by it.
	for _, l := range gone {
		for _, c := range l.certificates {
			e.r.ACM().release(c, arn)
		}
	}
}

func (e *ELB) putTargetGroup(g *elbTargetGroup) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.groups[g.arn] = g
}

func (e *ELB) deleteTargetGroup(arn string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.groups, arn)
}

func (e *ELB) putListener(l *elbListener) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.listeners[l.arn] = l
}

// deleteListener deletes a listener and returns it (nil if it was gone).
func (e *ELB) deleteListener(arn string) *elbListener {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.listeners[arn]
	delete(e.listeners, arn)
	return l
}
