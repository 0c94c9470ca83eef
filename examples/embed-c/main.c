/* embed-c: load a model and stream a greedy completion, using only ember.h.
   usage: ember-embed-c MODEL.gguf "prompt" [max_tokens] */
#include <ember/ember.h>
#include <stdio.h>
#include <stdlib.h>

static bool print_piece(const char *piece, size_t len, void *user_data) {
    (void)user_data;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return true;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT [MAX_TOKENS]\n", argv[0]);
        return 2;
    }
    ember_model *model = NULL;
    ember_session *session = NULL;
    int rc = 1;

    ember_status st = ember_model_load(argv[1], NULL, &model);
    if (st != EMBER_OK) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], ember_last_error());
        goto done;
    }
    st = ember_session_create(model, NULL, &session);
    if (st != EMBER_OK) {
        fprintf(stderr, "cannot create a session: %s\n", ember_last_error());
        goto done;
    }

    ember_generate_params params = ember_generate_default_params();
    params.max_tokens = argc == 4 ? atoi(argv[3]) : 16;
    params.callback = print_piece;  /* sampler NULL: greedy */
    ember_generate_result result = {sizeof(ember_generate_result), 0, 0, EMBER_STOP_NONE, 0.0, 0.0};
    st = ember_generate(session, argv[2], &params, &result);
    if (st != EMBER_OK) {
        fprintf(stderr, "generation failed: %s\n", ember_last_error());
        goto done;
    }
    printf("\n");
    fprintf(stderr, "%d prompt tokens, %d generated\n", result.n_prompt_tokens, result.n_generated);
    rc = 0;
done:
    ember_session_free(session);
    ember_model_free(model);
    return rc;
}
