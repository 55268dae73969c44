package fakellm_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"testing"

	"github.com/modeldoc/modeldoc/internal/fakellm"
)

// BenchmarkChatCompletions measures requests a second through a real
// listener with a layer-sized schema, as a batch job drives the fake.
func BenchmarkChatCompletions(b *testing.B) {
	b.Run("same_prompt", func(b *testing.B) { benchChat(b, false) })
	// Every prompt differs, as in a real batch, so no token count is memoized.
	b.Run("unique_prompts", func(b *testing.B) { benchChat(b, true) })
}

func benchChat(b *testing.B, unique bool) {
	srv := fakellm.New(fakellm.Config{})
	root, err := srv.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	schema, err := os.ReadFile("../prompt/schemas/column_descriptions.json")
	if err != nil {
		schema = []byte(nestedSchemas["strict_nested"])
	}
	var n atomic.Int64
	body := func() []byte {
		user := columnsPrompt
		if unique {
			user += fmt.Sprintf("\nRequest %d of the batch.\n", n.Add(1))
		}
		data, _ := json.Marshal(chatBody(user, schemaFormat("columns", string(schema))))
		return data
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(root+"/v1/chat/completions", "application/json", bytes.NewReader(body()))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	if s := srv.Stats(); s.Requests < int64(b.N) {
		b.Errorf("stats counted %d of %d requests", s.Requests, b.N)
	}
}
