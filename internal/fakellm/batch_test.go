package fakellm

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestBatchControl: POST /control changes the batch endpoints' delay and
// rates, refuses a rate outside [0, 1], and GET /batch-stats answers.
func TestBatchControl(t *testing.T) {
	s := New(Config{Batch: BatchSettings{Delay: time.Hour}})
	if _, err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	post := func(body string) *http.Response {
		res, err := http.Post(s.URL()+"/control", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := post(`{"batch_delay":"2s","batch_fail_rate":0.25}`)
	res.Body.Close()
	if got := s.Batch(); res.StatusCode != http.StatusOK || got.Delay != 2*time.Second || got.FailRate != 0.25 || got.ExpireRate != 0 {
		t.Fatalf("after /control: %d %+v", res.StatusCode, got)
	}
	res = post(`{"batch_expire_rate":1.5}`)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || s.Batch().ExpireRate != 0 {
		t.Fatalf("a rate of 1.5: %d %+v", res.StatusCode, s.Batch())
	}
	res, err := http.Get(s.URL() + "/batch-stats")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st BatchStats
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/batch-stats: %d %v", res.StatusCode, err)
	}
}
