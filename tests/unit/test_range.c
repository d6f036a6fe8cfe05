/* test-links: rules/range.c rules/equipment.c rules/json_exact.c */
/*
 * test_range.c: the range rule on a fridge (2-8 °C, warning band 3-7,
 * hysteresis 0.3, delay 15 min), one sample a minute: a door opening
 * raises nothing, a sustained excursion fires at the delay (by sample
 * and by tick) and resolves once back inside by more than the
 * hysteresis, oscillation around a limit does not flap, the warning band
 * escalates to critical, and the state survives a JSON round trip; a door
 * (0/1 under max 0) clears when it closes, inside its delay or after.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/rules.h"

#define T0 1700000000.0
#define MIN 60.0

static struct range_params fridge(void)
{
	struct range_params p = {
	    .has_min = true,
	    .has_max = true,
	    .has_warning_min = true,
	    .has_warning_max = true,
	    .min = 2,
	    .max = 8,
	    .warning_min = 3,
	    .warning_max = 7,
	    .hysteresis = 0.3,
	    .delay_s = 15 * MIN,
	    .severity = SEV_NONE,
	};
	return p;
}

/* Counts changes of (state, severity) the way the daemon's alert engine sees them. */
struct watch {
	enum cond_state state;
	enum severity sev;
	int transitions, firing_transitions;
};

static void see(struct watch *w, struct condition c)
{
	if (c.state != w->state || c.severity != w->sev) {
		w->transitions++;
		if (c.state == COND_FIRING && w->state != COND_FIRING)
			w->firing_transitions++;
	}
	w->state = c.state;
	w->sev = c.severity;
}

static void test_door_opening_raises_nothing(void **unused)
{
	struct range_params p = fridge();
	struct range_state st;
	struct watch w = {0};
	struct condition c;
	int pending = 0;

	(void)unused;
	range_init(&st);
	for (int i = 0; i < 120; i++) {
		double t = T0 + i * MIN, v = 5.0;

		if (i >= 30 && i < 35) /* the door is open five minutes: 9.5 °C */
			v = 9.5;
		c = range_sample(&st, &p, v, t);
		see(&w, c);
		pending += c.state == COND_PENDING;
		/* the daemon's timer ticks between samples too */
		see(&w, range_tick(&st, &p, t + 30));
	}
	assert_int_equal(w.firing_transitions, 0);
	assert_int_equal(pending, 5);
	assert_int_equal(c.state, COND_OK);
}

static void test_sustained_excursion_fires_at_delay_and_resolves(void **unused)
{
	struct range_params p = fridge();
	struct range_state st;
	struct condition c;

	(void)unused;
	p.has_warning_min = p.has_warning_max = false; /* hard limits only */
	range_init(&st);
	c = range_sample(&st, &p, 5.0, T0 - MIN);
	assert_int_equal(c.state, COND_OK);
	for (int i = 0; i < 15; i++) {
		c = range_sample(&st, &p, 8.6, T0 + i * MIN);
		assert_int_equal(c.state, COND_PENDING);
		assert_int_equal(c.severity, SEV_CRITICAL);
		assert_true(c.since == T0);
	}
	/* by the timer, exactly at the delay, without a new sample */
	assert_true(range_next(&st, &p, T0 + 14 * MIN) == T0 + 15 * MIN);
	assert_int_equal(range_tick(&st, &p, T0 + 15 * MIN - 1).state, COND_PENDING);
	c = range_tick(&st, &p, T0 + 15 * MIN);
	assert_int_equal(c.state, COND_FIRING);
	assert_int_equal(c.severity, SEV_CRITICAL);
	assert_true(c.since == T0);
	assert_true(c.value == 8.6);
	assert_non_null(strstr(c.summary, "above max 8"));
	assert_true(isinf(range_next(&st, &p, T0 + 15 * MIN)));
	/* and by the next sample */
	c = range_sample(&st, &p, 8.7, T0 + 15 * MIN);
	assert_int_equal(c.state, COND_FIRING);

	/* back below max, but not yet down to max - hysteresis: still firing */
	c = range_sample(&st, &p, 7.8, T0 + 20 * MIN);
	assert_int_equal(c.state, COND_FIRING);
	c = range_sample(&st, &p, 7.71, T0 + 21 * MIN);
	assert_int_equal(c.state, COND_FIRING);
	/* exactly max - hysteresis (8 - 0.3 == 7.7 in doubles too) leaves */
	c = range_sample(&st, &p, 7.7, T0 + 22 * MIN);
	assert_int_equal(c.state, COND_OK);
	assert_true(isinf(range_next(&st, &p, T0 + 22 * MIN)));
}

/* A door contact, 1 = open, 0 = closed, as the bundled config has it:
 * max 0, no hysteresis, delay 15 min; a sample a minute and the timer
 * between them. Worked by hand: the door opens at minute 10. */
static struct range_params door(void)
{
	struct range_params p = {.has_max = true, .max = 0, .delay_s = 15 * MIN};
	return p;
}

static void test_door_short_opening_clears(void **unused)
{
	struct range_params p = door();
	struct range_state st;
	struct condition c;

	(void)unused;
	range_init(&st);
	assert_int_equal(range_sample(&st, &p, 0, T0).state, COND_OK); /* 0 is at max: inside */
	/* open minutes 10..14 (five samples of 1): pending, since minute 10 */
	for (int i = 10; i < 15; i++) {
		c = range_sample(&st, &p, 1, T0 + i * MIN);
		assert_int_equal(c.state, COND_PENDING);
		assert_int_equal(c.severity, SEV_CRITICAL);
		assert_true(c.since == T0 + 10 * MIN);
		assert_true(c.peak == 1);
		/* the timer would fire it at 10 + 15 = minute 25 */
		assert_true(range_next(&st, &p, T0 + i * MIN) == T0 + 25 * MIN);
		assert_int_equal(range_tick(&st, &p, T0 + i * MIN + 30).state, COND_PENDING);
	}
	/* closed at minute 15: 0 <= max - 0, so the excursion is over */
	c = range_sample(&st, &p, 0, T0 + 15 * MIN);
	assert_int_equal(c.state, COND_OK);
	assert_true(isnan(st.peak));
	assert_true(isinf(range_next(&st, &p, T0 + 15 * MIN)));
	/* and nothing fires at minute 25, or ever, while it stays closed */
	assert_int_equal(range_tick(&st, &p, T0 + 25 * MIN).state, COND_OK);
	for (int i = 16; i < 120; i++)
		assert_int_equal(range_sample(&st, &p, 0, T0 + i * MIN).state, COND_OK);
}

static void test_door_long_opening_fires_and_resolves(void **unused)
{
	struct range_params p = door();
	struct range_state st;
	struct watch w = {0};
	struct condition c;

	(void)unused;
	range_init(&st);
	see(&w, range_sample(&st, &p, 0, T0));
	/* open minutes 10..49 (40 samples of 1), the timer ticking at :30 */
	for (int i = 10; i < 50; i++) {
		c = range_sample(&st, &p, 1, T0 + i * MIN);
		see(&w, c);
		/* pending through minute 24, firing from minute 25 (10 + 15) */
		assert_int_equal(c.state, i < 25 ? COND_PENDING : COND_FIRING);
		assert_true(c.since == T0 + 10 * MIN);
		see(&w, range_tick(&st, &p, T0 + i * MIN + 30));
	}
	assert_int_equal(c.severity, SEV_CRITICAL);
	/* closed at minute 50: resolved at once (hysteresis 0) */
	c = range_sample(&st, &p, 0, T0 + 50 * MIN);
	see(&w, c);
	assert_int_equal(c.state, COND_OK);
	/* ok -> pending -> firing -> ok: three changes, one firing */
	assert_int_equal(w.transitions, 3);
	assert_int_equal(w.firing_transitions, 1);
}

static void test_peak_is_furthest_beyond(void **unused)
{
	struct range_params p = fridge();
	struct range_state st;
	struct condition c;

	(void)unused;
	p.has_warning_min = p.has_warning_max = false;
	range_init(&st);
	assert_true(isnan(range_sample(&st, &p, 5.0, T0).peak));
	assert_true(range_sample(&st, &p, 8.3, T0 + MIN).peak == 8.3);
	assert_true(range_sample(&st, &p, 9.1, T0 + 2 * MIN).peak == 9.1);
	c = range_sample(&st, &p, 7.9, T0 + 3 * MIN); /* inside, within the hysteresis */
	assert_int_equal(c.state, COND_PENDING);
	assert_true(c.peak == 9.1);
	assert_true(range_tick(&st, &p, T0 + 4 * MIN).peak == 9.1);
	assert_true(isnan(range_sample(&st, &p, 5.0, T0 + 5 * MIN).peak));
	/* below: the smallest value */
	assert_true(range_sample(&st, &p, 1.5, T0 + 6 * MIN).peak == 1.5);
	assert_true(range_sample(&st, &p, 1.2, T0 + 7 * MIN).peak == 1.2);
	assert_true(range_sample(&st, &p, 1.8, T0 + 8 * MIN).peak == 1.2);
}

static void test_low_side_and_boundaries(void **unused)
{
	struct range_params p = fridge();
	struct range_state st;
	struct condition c;

	(void)unused;
	p.delay_s = 0;
	range_init(&st);
	/* exactly at a limit is inside */
	assert_int_equal(range_sample(&st, &p, 8.0, T0).state, COND_FIRING); /* > warning_max 7 */
	assert_int_equal(range_sample(&st, &p, 8.0, T0).severity, SEV_WARNING);
	range_init(&st);
	assert_int_equal(range_sample(&st, &p, 7.0, T0).state, COND_OK);
	c = range_sample(&st, &p, 1.5, T0 + MIN);
	assert_int_equal(c.state, COND_FIRING);
	assert_int_equal(c.severity, SEV_CRITICAL);
	assert_non_null(strstr(c.summary, "below min 2"));
	/* NaN is ignored */
	c = range_sample(&st, &p, NAN, T0 + 2 * MIN);
	assert_int_equal(c.state, COND_FIRING);
	assert_true(c.value == 1.5);
	/* no limits: never anything */
	memset(&p, 0, sizeof(p));
	range_init(&st);
	assert_int_equal(range_sample(&st, &p, 1e9, T0).state, COND_OK);
}

static void test_inside_sample_cancels_pending(void **unused)
{
	struct range_params p = fridge();
	struct range_state st;
	struct condition c;

	(void)unused;
	range_init(&st);
	assert_int_equal(range_sample(&st, &p, 9.0, T0).state, COND_PENDING);
	assert_int_equal(range_sample(&st, &p, 9.0, T0 + MIN).state, COND_PENDING);
	assert_int_equal(range_sample(&st, &p, 5.0, T0 + 2 * MIN).state, COND_OK);
	c = range_sample(&st, &p, 9.0, T0 + 3 * MIN);
	assert_int_equal(c.state, COND_PENDING);
	assert_true(c.since == T0 + 3 * MIN); /* the delay starts again */
	assert_int_equal(range_tick(&st, &p, T0 + 15 * MIN).state, COND_PENDING);
	assert_int_equal(range_tick(&st, &p, T0 + 18 * MIN).state, COND_FIRING);
}

/* 8.1, 7.9, 8.2, 7.8, ... around max 8 with hysteresis 0.3, for three hours. */
static int oscillate(double delay_s, double centre, int *firing)
{
	struct range_params p = fridge();
	struct range_state st;
	struct watch w = {0};

	p.has_warning_min = p.has_warning_max = false;
	p.delay_s = delay_s;
	range_init(&st);
	see(&w, range_sample(&st, &p, 5.0, T0 - MIN));
	for (int i = 0; i < 180; i++) {
		double swing = (i % 4 < 2 ? 0.1 : 0.2) * (i % 2 ? -1 : 1);

		see(&w, range_sample(&st, &p, centre + swing, T0 + i * MIN));
		see(&w, range_tick(&st, &p, T0 + i * MIN + 30));
	}
	*firing = w.firing_transitions;
	return w.transitions;
}

static void test_oscillation_does_not_flap(void **unused)
{
	int firing;

	(void)unused;
	/* no delay: ok -> firing, once */
	assert_int_equal(oscillate(0, 8.0, &firing), 1);
	assert_int_equal(firing, 1);
	/* 15 min delay: ok -> pending -> firing, once */
	assert_int_equal(oscillate(15 * MIN, 8.0, &firing), 2);
	assert_int_equal(firing, 1);
	/* near miss: the same swing around 7.7 never crosses max */
	assert_int_equal(oscillate(0, 7.7, &firing), 0);
	assert_int_equal(firing, 0);
}

static void test_warning_band_escalates_and_deescalates(void **unused)
{
	struct range_params p = fridge();
	struct range_state st;
	struct watch w = {0};
	struct condition c;

	(void)unused;
	range_init(&st);
	for (int i = 0; i <= 20; i++) /* 7.5: in the warning band for 20 min */
		see(&w, c = range_sample(&st, &p, 7.5, T0 + i * MIN));
	assert_int_equal(c.state, COND_FIRING);
	assert_int_equal(c.severity, SEV_WARNING);
	assert_non_null(strstr(c.summary, "above warning_max 7"));
	/* beyond max: still warning until the hard excursion lasts the delay */
	c = range_sample(&st, &p, 8.5, T0 + 21 * MIN);
	assert_int_equal(c.state, COND_FIRING);
	assert_int_equal(c.severity, SEV_WARNING);
	assert_true(range_next(&st, &p, T0 + 21 * MIN) == T0 + 36 * MIN);
	c = range_tick(&st, &p, T0 + 36 * MIN);
	assert_int_equal(c.state, COND_FIRING);
	assert_int_equal(c.severity, SEV_CRITICAL);
	assert_true(c.since == T0);
	see(&w, c);
	/* down into the warning band: warning again; then out by the hysteresis */
	c = range_sample(&st, &p, 7.5, T0 + 40 * MIN);
	assert_int_equal(c.severity, SEV_WARNING);
	see(&w, c);
	assert_int_equal(range_sample(&st, &p, 6.8, T0 + 41 * MIN).state, COND_FIRING);
	see(&w, c = range_sample(&st, &p, 6.6, T0 + 42 * MIN));
	assert_int_equal(c.state, COND_OK);
	/* pending(warning), firing(warning), critical, warning, ok */
	assert_int_equal(w.transitions, 5);
	assert_int_equal(w.firing_transitions, 1);

	/* a severity override replaces critical; the band stays warning */
	p.severity = SEV_INFO;
	p.delay_s = 0;
	range_init(&st);
	assert_int_equal(range_sample(&st, &p, 9, T0).severity, SEV_INFO);
	p.severity = SEV_CRITICAL;
	assert_int_equal(range_sample(&st, &p, 7.5, T0 + MIN).severity, SEV_WARNING);
}

static char *print(const struct range_state *st)
{
	cJSON *j = range_to_json(st);
	char *s;

	assert_non_null(j);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	assert_non_null(s);
	return s;
}

static void test_json_round_trip(void **unused)
{
	struct range_params p = fridge();
	struct range_state a, b;
	char err[128], *s1, *s2;
	cJSON *j;

	(void)unused;
	range_init(&a);
	range_sample(&a, &p, 7.4, T0 + 0.123456789);
	range_sample(&a, &p, 8.3, T0 + 300.1);
	s1 = print(&a);
	j = cJSON_Parse(s1);
	assert_non_null(j);
	range_init(&b);
	assert_int_equal(range_from_json(&b, j, err, sizeof(err)), 0);
	cJSON_Delete(j);
	s2 = print(&b);
	assert_string_equal(s1, s2);
	/* the restored state goes on exactly like the original */
	for (int i = 0; i < 40; i++) {
		double v = 8.3 - i * 0.05, t = T0 + 360 + i * MIN;
		struct condition ca = range_sample(&a, &p, v, t), cb = range_sample(&b, &p, v, t);

		assert_int_equal(ca.state, cb.state);
		assert_int_equal(ca.severity, cb.severity);
		assert_memory_equal(&ca.since, &cb.since, sizeof(double));
	}
	free(s1);
	free(s2);

	/* garbage is refused and leaves the state alone */
	const char *bad[] = {
	    "[]",
	    "{\"rule\":\"stale\",\"version\":1}",
	    "{\"rule\":\"range\",\"version\":2}",
	    "{\"rule\":\"range\",\"version\":1,\"level\":3,\"high\":true,\"excursion_since\":1,"
	    "\"hard_since\":1,\"last_value\":1,\"last_t\":1}",
	    "{\"rule\":\"range\",\"version\":1,\"level\":0,\"high\":true,\"excursion_since\":1,"
	    "\"hard_since\":null,\"last_value\":1,\"last_t\":1}",
	    "{\"rule\":\"range\",\"version\":1,\"level\":0,\"high\":false}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		range_init(&b);
		j = cJSON_Parse(bad[i]);
		assert_non_null(j);
		err[0] = '\0';
		assert_int_equal(range_from_json(&b, j, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		assert_true(isnan(b.last_value));
		cJSON_Delete(j);
	}
}

/* A state written before "peak" existed still loads. */
static void test_json_without_peak_loads(void **unused)
{
	const char *old = "{\"rule\":\"range\",\"version\":1,\"level\":2,\"high\":true,"
			  "\"excursion_since\":100,\"hard_since\":100,\"last_value\":9.5,"
			  "\"last_t\":160}";
	struct range_state st;
	char err[128];
	cJSON *j = cJSON_Parse(old);

	(void)unused;
	assert_non_null(j);
	range_init(&st);
	assert_int_equal(range_from_json(&st, j, err, sizeof(err)), 0);
	cJSON_Delete(j);
	assert_int_equal(st.level, RANGE_HARD);
	assert_true(st.peak == 9.5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_door_opening_raises_nothing),
	    cmocka_unit_test(test_sustained_excursion_fires_at_delay_and_resolves),
	    cmocka_unit_test(test_low_side_and_boundaries),
	    cmocka_unit_test(test_inside_sample_cancels_pending),
	    cmocka_unit_test(test_oscillation_does_not_flap),
	    cmocka_unit_test(test_warning_band_escalates_and_deescalates),
	    cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_door_short_opening_clears),
	    cmocka_unit_test(test_door_long_opening_fires_and_resolves),
	    cmocka_unit_test(test_peak_is_furthest_beyond),
	    cmocka_unit_test(test_json_without_peak_loads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
