"""Every st.session_state key of nnlab's pages, in one place: short-lived UI state only (durable facts
live in the store). Widgets whose value the code reads back through st.session_state are listed here;
buttons and charts keep their keys where they are drawn."""

# shared by every page
KEY_FLASH = "nnlab_flash"  # a one-time message shown at the top of the next page run
KEY_AUTHED = "nnlab_authenticated"  # this session typed the demo password
KEY_PASSWORD = "nnlab_password"
KEY_RUN_PICKER = "run_picker"  # the Results page's run selectbox
KEY_LOST_LINK = "nnlab_lost_link"  # a ?run= this session was told is not in the store (its picker starts empty)
QUERY_SWEEP = "sweep"  # st.query_params key of the sweep the Sweep page shows
QUERY_RUN = "run"  # st.query_params key holding the run a page shows, so refresh and new tabs re-attach
# a run's rename popover (Train, Results, Compare): its fields and its Save button
KEY_RUN_NAME, KEY_RUN_NOTE, KEY_RUN_SAVE = "run_name_{run}", "run_note_{run}", "run_save_{run}"

# Home
KEY_RECENT = "home_recent"  # the recent-runs table's selection
KEY_RECENT_SWEEPS = "home_recent_sweeps"  # the recent-sweeps table's selection
KEY_RESUME_ALL = "home_resume_all"  # the "resume all interrupted runs" button

# Train: the form
KEY_DATASET, KEY_ARCH, KEY_EXPERT = "tr_dataset", "tr_arch", "tr_expert"
KEY_ARCH_WANTED = "tr_arch_wanted"  # the architecture last picked; selected again where the dataset fits it
KEY_START = "tr_start"
KEY_NEW_NAME, KEY_NEW_NOTE = "tr_run_name", "tr_run_note"  # the name and note Start gives the new run
KEY_SEEDS = "tr_seeds"  # how many seeds Start runs the config with (one group)
KEY_LOADED = "tr_loaded"  # data keys the user asked to load for the preview (datasets that may download)
KEY_SOURCE = "tr_source_{dataset}"  # per dataset: upload a file or type a path
KEY_UPLOAD = "tr_{dataset}_upload"
KEY_KEPT_UPLOADS = "tr_kept_uploads"  # file id of each upload -> where the workspace keeps it
KEY_WEIGHTS_UPLOAD = "tr_weights_upload"
KEY_WEIGHTS_REFUSED = "tr_weights_refused"  # why the uploaded weights file was not kept (the disk quota)  # a pretrained-weights file uploaded where the ImageNet ones are missing
KEY_FIELD = "tr_{name}"  # a field's widget; per architecture or dataset where those set its default
KEY_FIELD_ARCH = "tr_{arch}_{name}"
KEY_FIELD_DATASET = "tr_{dataset}_{name}"
KEY_WHERE, KEY_RAY_ADDRESS = "tr_where", "tr_ray_address"  # where to train: this machine or a Ray cluster
# Train: the live view
KEY_CURVES = "tr_curves"  # (signature, figure) of the live curves, rebuilt only when an epoch arrives

# Results
KEY_CM_MODE = "results_cm_mode"
KEY_CM_CHART = "results_cm_chart_{run}_{mode}"  # the chart's selection state
KEY_CM_TRUE = "results_cell_true_{run}"  # the fallback picker, which also holds the current cell
KEY_CM_PRED = "results_cell_pred_{run}"
KEY_CM_LAST_CLICK = "results_cm_last_click_{run}"
KEY_CM_LIMIT = "results_examples_limit"
KEY_LABEL_TABS = "results_label_tabs_{run}"  # the open tab of Possible label errors (test or training rows)

# Compare
QUERY_A, QUERY_B = "a", "b"  # st.query_params keys of a pair to compare, from a link (a retrained run's Results)
KEY_TABLE = "compare_table"
KEY_FILTER = "compare_filter_{col}"
KEY_CONFIRM = "compare_confirm_rerun"
KEY_GROUPED = "compare_grouped"  # the table shows one row per group of seeds
KEY_GROUP_TABLE = "compare_group_table"
KEY_SCORE_DATASET = "compare_score_dataset"  # the dataset on the parallel coordinates' score axis
KEY_FLIP_CELL = "compare_flip_cell_{a}_{b}"  # the difference matrix's cell picker, which also holds the clicked cell
KEY_FLIP_LAST = "compare_flip_last_{a}_{b}"
KEY_FLIP_TAG = "compare_flip_tag"  # which flipped examples the lists show: all, stable, seed noise
KEY_MORE_SEEDS = "compare_more_seeds"  # the "run two more seeds of each" button

# Playground
KEY_MODEL_PICKER = "playground_run"
KEY_PG_UPLOAD = "playground_upload"
KEY_CANVAS = "playground_canvas"
KEY_TEST_INDEX = "playground_test_index"
KEY_TEXT = "playground_text"
KEY_SERIES = "playground_series"
KEY_STEPS = "playground_steps"
KEY_ROWS = "playground_rows"
KEY_ROWS_PICK = "playground_rows_pick"  # the predictions table's selected row, whose probabilities are drawn
